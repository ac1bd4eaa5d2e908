/*
 * pipepeek.h - the link type at the head of a capture that arrives on a
 * pipe (or a file redirected to the standard input), read without taking
 * a byte out of it, so that libpcap (in net_pcap) still reads the whole
 * stream afterwards.
 */
#ifndef MB_PIPEPEEK_H
#define MB_PIPEPEEK_H

/* The LINKTYPE_ value of the pcap or pcapng stream on fd, a pipe or a
 * regular file (of its first interface), waiting for a pipe's header as
 * long as its writer holds it open and *stop is 0; -1 when it cannot
 * tell: fd is neither, the stream ends first or is not a capture
 * (libpcap then says what is wrong), or a stop was asked for. */
int
pipepeek_linktype(int fd, const volatile int *stop);

#endif /* MB_PIPEPEEK_H */
