/*
 * luaprint.c - print() for the cores' Lua states. LuaJIT's own print writes
 * each argument, the tabs and the newline apart, so lines that two cores
 * print at the same moment (their mos.at_exit reports, say) come out
 * interleaved. This one builds the line first and hands it to stdio in one
 * fwrite, which stdio keeps whole. The arguments are converted with the
 * global tostring, as Lua's print does, before anything is written: an
 * error there leaves nothing half written.
 */
#include <stdio.h>

#include <lauxlib.h>

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

void
luaprint_install(lua_State *L)
{
	lua_pushcfunction(L, line_print);
	lua_setglobal(L, "print");
}
