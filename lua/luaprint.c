/*
 * luaprint.c - print(), io.write() and file:write() for the cores' Lua
 * states. LuaJIT's own print and write write each argument (and print's
 * tabs and newline) apart, so lines that two cores write at the same moment
 * (their mos.at_exit reports, say) come out interleaved. These build the
 * text first and hand it to stdio in one fwrite, which stdio keeps whole.
 * print converts its arguments with the global tostring, as Lua's print
 * does, before anything is written: an error there leaves nothing half
 * written.
 */
#include <stdio.h>

#include <lauxlib.h>
#include <lualib.h>

#include "luaprint.h"

static int
line_print(lua_State *L)
{
	int n = lua_gettop(L), i;
	luaL_Buffer b;
	const char *s;
	size_t len;

	lua_getglobal(L, "tostring");
	luaL_buffinit(L, &b);
	for (i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		lua_pushvalue(L, n + 1);
		lua_pushvalue(L, i);
		lua_call(L, 1, 1);
		if (lua_type(L, -1) != LUA_TSTRING &&
		    lua_type(L, -1) != LUA_TNUMBER)
			return luaL_error(L, "'tostring' must return a string "
					  "to 'print'");
		luaL_addvalue(&b);
	}
	luaL_addchar(&b, '\n');
	luaL_pushresult(&b);
	s = lua_tolstring(L, -1, &len);
	if (fwrite(s, 1, len, stdout) != len)
		clearerr(stdout);	/* as Lua's print: no error raised */
	return 0;
}

/* LuaJIT's write (upvalue 1) with the arguments from `first` on (after a
 * file:write's file) joined into one string when there are several and
 * all are strings or numbers: lua_concat formats numbers as write does
 * ("%.14g"). Anything else goes to write as it came, so that its results
 * and errors stay LuaJIT's. */
static int
joined_write(lua_State *L)
{
	int n = lua_gettop(L), i;
	int first = lua_toboolean(L, lua_upvalueindex(2)) ? 2 : 1;

	if (n - first >= 1) {
		for (i = first; i <= n; i++)
			if (lua_type(L, i) != LUA_TSTRING &&
			    lua_type(L, i) != LUA_TNUMBER)
				break;
		if (i > n)
			lua_concat(L, n - first + 1);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* Replace t.write (t at index t) by joined_write around it. */
static void
wrap_write(lua_State *L, int t, int method)
{
	lua_getfield(L, t, "write");
	if (!lua_isfunction(L, -1)) {
		lua_pop(L, 1);
		return;
	}
	lua_pushboolean(L, method);
	lua_pushcclosure(L, joined_write, 2);
	lua_setfield(L, t, "write");
}

void
luaprint_install(lua_State *L)
{
	lua_pushcfunction(L, line_print);
	lua_setglobal(L, "print");
	lua_getglobal(L, "io");
	if (lua_istable(L, -1))
		wrap_write(L, lua_gettop(L), 0);
	lua_pop(L, 1);
	/* The files' methods (io.stdout:write, io.open(...):write). */
	luaL_getmetatable(L, LUA_FILEHANDLE);
	if (lua_istable(L, -1))
		wrap_write(L, lua_gettop(L), 1);
	lua_pop(L, 1);
}
