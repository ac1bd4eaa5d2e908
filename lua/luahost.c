/*
 * luahost.c - the Lua side of a worker core: one lua_State per core, the
 * policy script run in it, and the Lua-owned run loop (mos._run). With
 * luaprint.c (the states' print), the only file of moonbox that includes
 * lua.h.
 *
 * Failure containment:
 *  - errors in callbacks and filters are caught in the Lua loop (mos.lua)
 *    and counted; traffic follows --on-error;
 *  - the Lua heap is capped (--lua-mem) by this file's allocator, in front
 *    of LuaJIT's own (an arena per state, faster than libc's malloc, and
 *    freed whole with the state). The allocator never fails at the cap:
 *    LuaJIT 2.1 (Debian's, of 2022) crashes when an allocation fails
 *    inside compiled code (lj_err_mem reads a frame the trace has not
 *    written; upstream fixed it in 2023-24). Past the cap it only asks
 *    the loop to stop at the end of the burst, out of the Lua code, where
 *    a full collection decides: under the cap the script goes on, else
 *    its state is closed and the core goes on without it. A call that
 *    allocates a quarter of the cap more (at least 16 MiB) before
 *    returning is stopped at once, as the watchdog stops one;
 *  - a callback that never returns cannot be stopped from inside (LuaJIT's
 *    compiled code ignores hooks), so the main thread's watchdog signals the
 *    core's thread, and the handler jumps back here out of the Lua code; the
 *    lua_State is then abandoned and the core carries on without its script
 *    (each further call it would have made is counted as skipped) until a
 *    reload.
 *
 * Reload (SIGHUP): between two bursts the script is loaded again into a new
 * state; only once that worked does the old one end (see reload()).
 */
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "luahost.h"
#include "luaprint.h"

#define WATCHDOG_SIG	(SIGRTMIN + 3)

struct lua_core {
	lua_State *L;
	mctx_t mctx;
	int cpu;
	size_t used;
	size_t cap;
	size_t hard;			/* cap + headroom: stop at once */
	volatile int in_alloc;
	volatile int armed;		/* jb is valid */
	int gen;			/* which load of the script runs */
	const struct mb_opts *opts;
	const char *prog;
	sigjmp_buf jb;
	pthread_t thread;
};

static __thread struct lua_core *self;

/* A state's allocator: LuaJIT's own (f, ud), under its core's cap. A
 * reload's new state and the old one share the cap (lc->used). */
struct lua_heap {
	struct lua_core *lc;
	lua_Alloc f;
	void *ud;
	size_t used;			/* this state's bytes */
};

/* Why a protected run was jumped out of (siglongjmp's value). */
enum { JUMP_WATCHDOG = 1, JUMP_MEMORY = 2 };

struct lua_core *volatile luahost_cores[LUAHOST_MAX_CORES];

/* Text ranges of C code the watchdog must not jump out of: libmoonbox
 * (engine state), libc (its locks), DPDK. */
struct range {
	uintptr_t lo, hi;
};
static struct range c_ranges[64];
static int n_ranges;

static int
note_range(struct dl_phdr_info *info, size_t size, void *arg)
{
	const char *n = info->dlpi_name;
	int i;

	(void)size;
	(void)arg;
	if (n == NULL || (strstr(n, "libmoonbox") == NULL &&
			  strstr(n, "libc.so") == NULL &&
			  strstr(n, "librte_") == NULL &&
			  strstr(n, "ld-linux") == NULL))
		return 0;
	for (i = 0; i < info->dlpi_phnum && n_ranges < 64; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X))
			c_ranges[n_ranges++] = (struct range){
				info->dlpi_addr + ph->p_vaddr,
				info->dlpi_addr + ph->p_vaddr + ph->p_memsz };
	}
	return 0;
}

static int
in_c_code(uintptr_t pc)
{
	int i;

	for (i = 0; i < n_ranges; i++)
		if (pc >= c_ranges[i].lo && pc < c_ranges[i].hi)
			return 1;
	return 0;
}

static void
on_watchdog(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct lua_core *lc = self;

	(void)sig;
	(void)si;
	if (lc == NULL || !lc->armed)
		return;
	/* Inside the engine or libc the thread may hold state we need: the
	 * watchdog asks again shortly, and the thread is back in Lua then. */
	if (lc->in_alloc || in_c_code((uintptr_t)uc->uc_mcontext.gregs[REG_RIP]))
		return;
	lc->armed = 0;
	siglongjmp(lc->jb, 1);
}

void
luahost_global_init(void)
{
	struct sigaction sa;

	dl_iterate_phdr(note_range, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_watchdog;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(WATCHDOG_SIG, &sa, NULL);
}

static void *
capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct lua_heap *h = ud;
	struct lua_core *lc = h->lc;
	size_t old = ptr != NULL ? osize : 0;
	void *p;

	if (nsize == 0) {
		h->f(h->ud, ptr, osize, 0);
		lc->used -= old;
		h->used -= old;
		return NULL;
	}
	if (lc->cap != 0 && nsize > old &&
	    lc->used + (nsize - old) > lc->cap) {
		if (lc->used + (nsize - old) > lc->hard) {
			/* Outside a protected run (the state being made)
			 * LuaJIT's C API raises the error safely. */
			if (!lc->armed)
				return NULL;
			lc->armed = 0;
			siglongjmp(lc->jb, JUMP_MEMORY);
		}
		/* Crossing it: the loop stops at the end of the burst. */
		if (lc->used <= lc->cap)
			mosffi_stop_loop(lc->mctx, 1);
	}
	lc->in_alloc = 1;
	p = h->f(h->ud, ptr, osize, nsize);
	lc->in_alloc = 0;
	if (p != NULL) {
		lc->used = lc->used - old + nsize;
		h->used = h->used - old + nsize;
	}
	return p;
}

static int
over_cap(const struct lua_core *lc)
{
	return lc->cap != 0 && lc->used > lc->cap;
}

/* Back under the cap (a state closed or abandoned, or collected): the
 * loop need not stop. */
static void
heap_settle(struct lua_core *lc)
{
	if (!over_cap(lc))
		mosffi_stop_loop(lc->mctx, 0);
}

/* A state jumped out of (watchdog, heap) is never touched again: its
 * memory is not given back, but no longer counts against the cap, so
 * that a reload can run. */
static void
abandon(struct lua_core *lc, lua_State *L)
{
	struct lua_heap *h;

	lua_getallocf(L, (void **)&h);
	lc->used -= h->used;
	heap_settle(lc);
}

/* A full collection in a state past the cap, its result in lc->used. A
 * protected run: should the collection itself go past the headroom, the
 * jump to jb abandons the state. */
static void
collect_over_cap(struct lua_core *lc, lua_State *L)
{
	lc->armed = 1;
	lua_gc(L, LUA_GCCOLLECT, 0);
	lc->armed = 0;
	heap_settle(lc);
}

/* Bytes a state holds (LuaJIT counts every allocation of its own). */
static size_t
state_bytes(lua_State *L)
{
	return (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 +
	       (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
}

#ifdef __SANITIZE_ADDRESS__
static void *
libc_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	(void)ud;
	(void)osize;
	if (nsize == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, nsize);
}
#endif

/* A new state on LuaJIT's allocator, which the cap then wraps: what the
 * state took to start counts from the start. Under AddressSanitizer the
 * heap stays on libc's malloc, whose blocks it guards (the ffi.new
 * buffers the API writes into among them). */
static lua_State *
new_state(struct lua_core *lc)
{
	struct lua_heap *h = malloc(sizeof(*h));
	lua_State *L;

	if (h == NULL)
		return NULL;
	h->lc = lc;
	h->used = 0;
#ifdef __SANITIZE_ADDRESS__
	h->f = libc_alloc;
	h->ud = NULL;
	L = lua_newstate(capped_alloc, h);
#else
	L = luaL_newstate();
	if (L != NULL) {
		h->f = lua_getallocf(L, &h->ud);
		h->used = state_bytes(L);
		lc->used += h->used;
		lua_setallocf(L, capped_alloc, h);
	}
#endif
	if (L == NULL)
		free(h);
	return L;
}

/* Close a state: its bytes leave the cap, and LuaJIT's allocator is put
 * back first, which then frees its arena whole (with any other allocator
 * LuaJIT frees its blocks one by one and leaves the arena behind). */
static void
close_state(lua_State *L)
{
	struct lua_heap *h;

	lua_getallocf(L, (void **)&h);
	h->lc->used -= h->used;
	lua_setallocf(L, h->f, h->ud);
	lua_close(L);
	heap_settle(h->lc);
	free(h);
}

/* Whether the first line of msg has Lua's "chunk:line:" prefix. Every
 * error Lua or LuaJIT raises has one (argument errors and FFI conversions
 * included); error(msg, 0) leaves it out. */
static int
has_position(const char *msg)
{
	const char *p, *q;

	for (p = msg; *p != '\0' && *p != '\n'; p++) {
		if (*p != ':' || p == msg || p[1] < '0' || p[1] > '9')
			continue;
		for (q = p + 1; *q >= '0' && *q <= '9'; q++)
			;
		if (*q == ':')
			return 1;
	}
	return 0;
}

/* A message raised with error(msg, 0) is the script's own word to its
 * user (a usage error, say) and is printed alone; any other error gets
 * the stack traceback that says where it came from. mos.lua's on_error
 * keeps the same rule for callbacks. */
static int
traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	if (msg != NULL && !has_position(msg))
		return 1;
	luaL_traceback(L, L, msg != NULL ? msg : "(error object)", 1);
	return 1;
}

/* Is this the moonbox of the build tree (not an installed copy)? */
static int
running_from_build(void)
{
	static const char root[] = MOONBOX_BUILD_ROOT "/";
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return 0;
	exe[n] = '\0';
	return strncmp(exe, root, sizeof(root) - 1) == 0;
}

/* package.path: MOONBOX_LUA_PATH, the mos module (the build tree's for
 * the build tree's program, else the installed one, so that an installed
 * moonbox never loads a module from a source tree that changed since),
 * the script's directory, ./, then LuaJIT's default path (jit.v, jit.p,
 * jit.dump for profiling a policy). */
static void
set_path(lua_State *L, const char *script)
{
	static const char *const build_dirs[] = { MOONBOX_LUA_BUILD_GEN,
						  MOONBOX_LUA_BUILD_SRC };
	static const char *const inst_dirs[] = { MOONBOX_LUADIR };
	const char *const *dirs = inst_dirs;
	size_t i, ndirs = 1;
	char path[4096] = "", sdir[1024];
	const char *env = getenv("MOONBOX_LUA_PATH"), *dflt;
	char *slash;

	if (running_from_build()) {
		dirs = build_dirs;
		ndirs = 2;
	}
	if (env != NULL)
		snprintf(path, sizeof(path), "%s;", env);
	for (i = 0; i < ndirs; i++)
		snprintf(path + strlen(path), sizeof(path) - strlen(path),
			 "%s/?.lua;", dirs[i]);
	/* Modules next to the script come after the built-in ones. */
	if (script != NULL) {
		snprintf(sdir, sizeof(sdir), "%s", script);
		slash = strrchr(sdir, '/');
		if (slash != NULL) {
			*slash = '\0';
			snprintf(path + strlen(path), sizeof(path) - strlen(path),
				 "%s/?.lua;", sdir);
		}
	}
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "path");
	dflt = lua_tostring(L, -1);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "./?.lua;%s",
		 dflt != NULL ? dflt : "");
	lua_pop(L, 1);
	lua_pushstring(L, path);
	lua_setfield(L, -2, "path");
	lua_pop(L, 1);
}

/* A new Lua state with the mos module bound to the core and generation
 * gen, the script loaded and run with (mctx, args...); NULL after printing
 * why not. A script stopped by the watchdog while loading leaves its state
 * abandoned (it may be inconsistent): not closed, never used again. */
static lua_State *
load_script(struct lua_core *volatile lc, int gen)
{
	const struct mb_opts *o = lc->opts;
	lua_State *volatile L;
	int i, nargs;

	L = new_state(lc);
	if (L == NULL) {
		fprintf(stderr, "%s: core %d: cannot create a Lua state\n",
			lc->prog, lc->cpu);
		return NULL;
	}
	luaL_openlibs(L);
	luaprint_install(L);
	set_path(L, o->script);

	lua_pushcfunction(L, traceback);
	lua_getglobal(L, "require");
	lua_pushstring(L, "mos");
	if (lua_pcall(L, 1, 1, 1) != 0) {
		fprintf(stderr, "%s: cannot load the mos module: %s\n",
			lc->prog, lua_tostring(L, -1));
		goto fail;
	}
	/* mos.mctx: the core this state belongs to; mos.gen: which load. */
	lua_getfield(L, -1, "_attach");
	lua_pushinteger(L, lc->cpu);
	lua_pushinteger(L, gen);
	if (lua_pcall(L, 2, 0, 1) != 0) {
		fprintf(stderr, "%s: %s\n", lc->prog, lua_tostring(L, -1));
		goto fail;
	}
	lua_setglobal(L, "mos");

	if (luaL_loadfile(L, o->script) != 0) {
		fprintf(stderr, "%s: %s\n", lc->prog, lua_tostring(L, -1));
		goto fail;
	}
	/* The script runs with (mctx, args...). */
	lua_getglobal(L, "mos");
	lua_getfield(L, -1, "mctx");
	lua_remove(L, -2);
	nargs = o->script_argc;
	for (i = 0; i < nargs; i++)
		lua_pushstring(L, o->script_argv[i]);
	switch (sigsetjmp(lc->jb, 1)) {
	case 0:
		break;
	case JUMP_MEMORY:
		fprintf(stderr, "%s: core %d: the script took the Lua heap "
			"past --lua-mem (%d MiB) while loading\n", lc->prog,
			lc->cpu, o->lua_mem_mb);
		abandon(lc, L);
		return NULL;
	default:
		fprintf(stderr, "%s: core %d: the script did not finish "
			"loading within %d ms\n", lc->prog, lc->cpu,
			o->watchdog_ms);
		abandon(lc, L);
		return NULL;
	}
	lc->armed = 1;
	if (lua_pcall(L, nargs + 1, 0, 1) != 0) {
		lc->armed = 0;
		fprintf(stderr, "%s: %s\n", lc->prog, lua_tostring(L, -1));
		goto fail;
	}
	lc->armed = 0;
	lua_settop(L, 0);
	if (over_cap(lc))
		collect_over_cap(lc, L);
	/* A crossing the load itself undid asks for no stop. */
	heap_settle(lc);
	if (over_cap(lc)) {
		fprintf(stderr, "%s: core %d: the script holds more than "
			"--lua-mem (%d MiB) once loaded\n", lc->prog, lc->cpu,
			o->lua_mem_mb);
		goto fail;
	}
	return L;
fail:
	lc->armed = 0;
	close_state(L);
	return NULL;
}

struct lua_core *
luahost_create(mctx_t mctx, const struct mb_opts *o, const char *prog)
{
	struct lua_core *lc = calloc(1, sizeof(*lc));

	if (lc == NULL)
		return NULL;
	lc->mctx = mctx;
	lc->cpu = mctx->cpu;
	lc->cap = (size_t)o->lua_mem_mb << 20;
	lc->hard = lc->cap + (lc->cap / 4 > ((size_t)16 << 20) ?
			      lc->cap / 4 : ((size_t)16 << 20));
	lc->opts = o;
	lc->prog = prog;
	lc->thread = pthread_self();
	self = lc;
	luahost_cores[mctx->cpu] = lc;
	lc->L = load_script(lc, 0);
	if (lc->L == NULL) {
		/* (A state the watchdog abandoned is never used again.) */
		luahost_cores[mctx->cpu] = NULL;
		free(lc);
		self = NULL;
		return NULL;
	}
	return lc;
}

/* The core's loop after its script was stopped: every Lua call the engine
 * asks for is skipped (a filter counts as false). A scenario's tests
 * cannot go on: TAP's "Bail out!" says so to whatever reads its output.
 * 1 when a reload is asked, 0 when the core has finished. */
static int
run_without_script(struct lua_core *lc)
{
	struct mosffi_invoke *inv = mosffi_invoke_slot(lc->mctx);
	int r;

	if (lc->opts->scenario) {
		printf("Bail out! the scenario was stopped (see the standard "
		       "error)\n");
		fflush(stdout);
	}
	mosffi_stop_loop(lc->mctx, 0);
	while ((r = mosffi_run(lc->mctx)) != 0) {
		if (r == 2)
			return 1;
		inv->failed = 1;
		mbx_count_skipped(lc->mctx);
	}
	return 0;
}

/* Push, for lua_pcall(L, 1, ...) with the error handler at 1: the traceback
 * handler, mos[fn] and its argument, mos.mctx. */
static void
push_mos_call(lua_State *L, const char *fn)
{
	lua_settop(L, 0);
	lua_pushcfunction(L, traceback);
	lua_getglobal(L, "mos");
	lua_getfield(L, -1, fn);
	lua_remove(L, -2);
	lua_getglobal(L, "mos");
	lua_getfield(L, -1, "mctx");
	lua_remove(L, -2);
}

/* Run the loaded script's loop until the core finishes (0) or is asked
 * to reload (1). */
static int
run_loaded(struct lua_core *lc)
{
	lua_State *L = lc->L;
	const char *why;
	char msg[200];

	if (L == NULL)
		return run_without_script(lc);
	switch (sigsetjmp(lc->jb, 1)) {
	case 0:
		break;
	case JUMP_MEMORY:
		snprintf(msg, sizeof(msg), "a call took the heap %d MiB past "
			 "--lua-mem (%d MiB) before returning; the script is "
			 "stopped on this core (its heap is not given back)",
			 (int)((lc->hard - lc->cap) >> 20),
			 lc->opts->lua_mem_mb);
		mosffi_script_error(lc->mctx, MOSFFI_ERR_MEMORY, msg);
		abandon(lc, L);
		lc->L = NULL;
		return run_without_script(lc);
	default:
		mosffi_script_error(lc->mctx, MOSFFI_ERR_TIMEOUT,
				    "a callback ran longer than the watchdog "
				    "allows; the script is stopped on this core");
		abandon(lc, L);
		lc->L = NULL;	/* abandoned, see the file comment */
		return run_without_script(lc);
	}
	for (;;) {
		push_mos_call(L, "_run");
		lc->armed = 1;
		if (lua_pcall(L, 1, 1, 1) != 0) {
			lc->armed = 0;
			mosffi_script_error(lc->mctx, MOSFFI_ERR_RUNTIME,
					    lua_tostring(L, -1));
			return run_without_script(lc);
		}
		lc->armed = 0;
		why = lua_tostring(L, -1);
		if (why == NULL || strcmp(why, "memory") != 0)
			return why != NULL && strcmp(why, "reload") == 0;
		/* Past the cap, between two bursts: what a full collection
		 * leaves decides (garbage counts until collected). It must
		 * leave a quarter of the cap free, or the script would run
		 * a full collection every few calls. */
		lua_settop(L, 0);
		collect_over_cap(lc, L);
		if (lc->used <= lc->cap - lc->cap / 4)
			continue;
		snprintf(msg, sizeof(msg), "%.1f MiB live after a full "
			 "collection, more than three quarters of --lua-mem "
			 "(%d MiB); the script is stopped on this core",
			 lc->used / 1048576.0, lc->opts->lua_mem_mb);
		mosffi_script_error(lc->mctx, MOSFFI_ERR_MEMORY, msg);
		close_state(L);
		lc->L = NULL;
		return run_without_script(lc);
	}
}

/* The old load's end: its mos.at_exit functions, under the watchdog. 0,
 * or -1 when the watchdog stopped them (the state is then abandoned). */
static int
finish_old(struct lua_core *lc, lua_State *L)
{
	if (sigsetjmp(lc->jb, 1) != 0) {
		abandon(lc, L);
		return -1;
	}
	push_mos_call(L, "_finish");
	lc->armed = 1;
	if (lua_pcall(L, 1, 0, 1) != 0)
		mosffi_script_error(lc->mctx, MOSFFI_ERR_RUNTIME,
				    lua_tostring(L, -1));
	lc->armed = 0;
	return 0;
}

/*
 * SIGHUP, between two bursts: load the script again in a new state. If it
 * loads, the old load ends (its at_exit functions), its sockets (and the
 * flows' sockets made from them) are closed and its timers disarmed, and
 * the new one runs from the next burst on. If it does not, what it opened
 * is closed and the old load runs on (or none, if none ran).
 */
static void
reload(struct lua_core *lc)
{
	int gen = (lc->gen + 1) % MOSFFI_GENERATIONS;
	lua_State *L, *old = lc->L;

	mosffi_busy(lc->mctx, 1);
	L = load_script(lc, gen);
	if (L == NULL) {
		mosffi_retire(lc->mctx, gen);
		mosffi_reloaded(lc->mctx, 0);
		fprintf(stderr, "%s: core %d: the script did not reload; %s\n",
			lc->prog, lc->cpu, old != NULL ?
			"the one loaded before runs on" :
			"the core runs on without a script");
		mosffi_busy(lc->mctx, 0);
		return;
	}
	if (old != NULL && finish_old(lc, old) != 0)
		old = NULL;	/* abandoned by the watchdog */
	mosffi_retire(lc->mctx, lc->gen);
	if (old != NULL)
		close_state(old);
	lc->L = L;
	lc->gen = gen;
	mosffi_reloaded(lc->mctx, 1);
	mosffi_busy(lc->mctx, 0);
	fprintf(stderr, "%s: core %d: %s reloaded\n", lc->prog, lc->cpu,
		lc->opts->script);
}

int
luahost_run(struct lua_core *lc)
{
	self = lc;
	while (run_loaded(lc))
		reload(lc);
	return 0;
}

void
luahost_stop(struct lua_core *lc)
{
	if (lc != NULL && lc->armed)
		pthread_kill(lc->thread, WATCHDOG_SIG);
}

int
luahost_armed(const struct lua_core *lc)
{
	return lc->armed;
}

void
luahost_destroy(struct lua_core *lc)
{
	if (lc == NULL)
		return;
	luahost_cores[lc->cpu] = NULL;
	if (lc->L != NULL)
		close_state(lc->L);
	free(lc);
}
