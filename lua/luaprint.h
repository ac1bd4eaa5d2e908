/*
 * luaprint.h - print() for the cores' Lua states, a line in one write.
 */
#ifndef MB_LUAPRINT_H
#define MB_LUAPRINT_H

#include <lua.h>

/* Replace the state's print, io.write and the files' write method. */
void luaprint_install(lua_State *L);

#endif /* MB_LUAPRINT_H */
