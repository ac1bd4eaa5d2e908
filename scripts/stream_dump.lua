--[[
stream_dump.lua - writes the reassembled bytes of each direction of every
TCP flow to a file, named as tcpflow names its files:
    OUTDIR/SRCIP.SRCPORT-DSTIP.DSTPORT
(octets zero-padded to 3 digits, port to 5, e.g.
010.001.000.001.40001-010.002.000.001.00080 holds what the client
10.1.0.1:40001 sent to the server 10.2.0.1:80).

Usage:
    moonbox -r in.pcap [-c CORES] [--rmem BYTES] scripts/stream_dump.lua OUTDIR
OUTDIR must be a directory moonbox can write in (else the script stops
before any packet, and moonbox with status 1). A file is created
(truncated) the first time this run writes it; a later connection with
the same 4-tuple appends to it.

How it works: bytes are read with mos.peek on MOS_ON_CONN_NEW_DATA, and
also on MOS_ON_ERROR, which moonbox raises before unread bytes leave the
reassembly window (read them now or lose them); bytes lost anyway (a
window too small for the reordering) are counted as missed. Each flow
side keeps its file open (C stdio through the FFI, written from a buffer
shared by the core, so no Lua string is made per read) until
MOS_ON_CONN_END, which reads what is left and closes both files.

Live (--port), a lost frame leaves a hole until the sender sends it
again, and the bytes after the hole wait in the window meanwhile: the
default --rmem of 8 KiB then loses them. Give --rmem about the largest
TCP window of the traffic (test_inline.sh's downloads, with frames
dropped by af_packet's ring, lost some 150 KB a core at 8 KiB and none
at 2 MiB).

Output (stdout, at the end, one line per core):
    stream_dump: core C: F files, B bytes, M bytes missed, E errors
(E: MOS_ON_ERROR events, each of which was answered by reading; files that
could not be opened or written are reported on stderr).
]]
local mctx = ...
local ffi = require "ffi"

ffi.cdef [[
typedef struct _IO_FILE FILE;
FILE *fopen(const char *path, const char *mode);
size_t fwrite(const void *ptr, size_t size, size_t n, FILE *f);
int fclose(FILE *f);
typedef struct __dirstream DIR;
DIR *opendir(const char *name);
int closedir(DIR *d);
int access(const char *path, int mode);
]]
local C = ffi.C

local CORE = mos.core
local ENODATA = 61

local outdir = select(2, ...)
if outdir == nil or select("#", ...) > 2 then
    error("usage: stream_dump.lua OUTDIR", 0)
end
outdir = outdir:gsub("/+$", "")
if outdir == "" then outdir = "/" end
-- A directory that cannot take the files ends the run before any packet
-- (not a message per file).
do
    local d = C.opendir(outdir)
    if d == nil then
        error(string.format("stream_dump.lua: %s: not a directory moonbox " ..
                            "can open (errno %d)", outdir, ffi.errno()), 0)
    end
    C.closedir(d)
    if C.access(outdir, 3) ~= 0 then    -- W_OK | X_OK
        error(string.format("stream_dump.lua: %s: cannot write in it " ..
                            "(errno %d)", outdir, ffi.errno()), 0)
    end
end

local BUFLEN = 65536
local buf = ffi.new("char[?]", BUFLEN)
-- Pointers made with ffi.cast do not keep their cdata alive: the
-- functions below use `addrs` itself.
local addrs = ffi.new("struct sockaddr_in[2]")
local sockaddr_p = ffi.typeof("struct sockaddr *")
local u8_p = ffi.typeof("uint8_t *")
local addrlen = ffi.new("uint32_t[1]")

local files = {}        -- sock * 2 + side -> FILE *
local opened = {}       -- file name -> true, once this run created it
local nfiles, nbytes, nmissed, nerrors = 0, 0, 0, 0

-- "SRCIP.SRCPORT" of endpoint i (0: client, 1: server).
local function endpoint(i)
    local b = ffi.cast(u8_p, addrs[i])
    return string.format("%03d.%03d.%03d.%03d.%05d", b[4], b[5], b[6], b[7],
                         b[2] * 256 + b[3])
end

local function open(m, sock, side, key)
    addrlen[0] = 2 * ffi.sizeof("struct sockaddr")
    if mos.getpeername(m, sock, ffi.cast(sockaddr_p, addrs), addrlen,
                       mos.MOS_SIDE_BOTH) ~= 0 then
        return nil
    end
    -- side is the receiver: the server side receives the client's bytes.
    local src = side == mos.MOS_SIDE_SVR and 0 or 1
    local name = outdir .. "/" .. endpoint(src) .. "-" .. endpoint(1 - src)
    local f = C.fopen(name, opened[name] and "a" or "w")
    if f == nil then
        io.stderr:write(string.format("stream_dump: %s: cannot open (errno %d)\n",
                                      name, ffi.errno()))
        return nil
    end
    if not opened[name] then
        opened[name] = true
        nfiles = nfiles + 1
    end
    files[key] = f
    return f
end

-- Read every unread in-order byte of one side into its file.
local function drain(m, sock, side)
    local key = sock * 2 + side
    while true do
        local n = mos.peek(m, sock, side, buf, BUFLEN)
        if n > 0 then
            local f = files[key] or open(m, sock, side, key)
            if f ~= nil and C.fwrite(buf, 1, n, f) ~= n then
                io.stderr:write(string.format("stream_dump: core %d: write " ..
                    "failed (errno %d)\n", CORE, ffi.errno()))
            end
            nbytes = nbytes + n
        elseif n < -1 or (n == -1 and ffi.errno() == ENODATA) then
            nmissed = nmissed - n
        else
            return
        end
    end
end

local function on_data(m, sock, side)
    drain(m, sock, side)
end

local function on_error(m, sock, side)
    nerrors = nerrors + 1
    drain(m, sock, side)
end

local function close(key)
    local f = files[key]
    if f ~= nil then
        C.fclose(f)
        files[key] = nil
    end
end

-- Raised once per side; the first call finishes both.
local function on_end(m, sock)
    local key = sock * 2
    for side = 0, 1 do
        drain(m, sock, side)
        close(key + side)
    end
end

local function on_exit()
    for key in pairs(files) do close(key) end
    io.stdout:write(string.format("stream_dump: core %d: %d files, %d bytes, " ..
        "%d bytes missed, %d errors\n", CORE, nfiles, nbytes, nmissed, nerrors))
    io.stdout:flush()
end

local check = mos.check

local sock = check(mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_STREAM, 0),
                   "mos.socket")
check(mos.register_callback(mctx, sock, mos.MOS_ON_CONN_NEW_DATA, mos.MOS_NULL,
                            on_data), "CONN_NEW_DATA")
check(mos.register_callback(mctx, sock, mos.MOS_ON_ERROR, mos.MOS_NULL, on_error),
      "ERROR")
check(mos.register_callback(mctx, sock, mos.MOS_ON_CONN_END, mos.MOS_HK_SND, on_end),
      "CONN_END")
mos.at_exit(on_exit)
