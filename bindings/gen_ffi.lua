-- gen_ffi.lua - turns bindings/mosffi.h into the files that keep C and Lua
-- in agreement (run by the build with luajit):
--   OUT/lua/mos/ffi_decl.lua  the declarations for ffi.cdef
--   OUT/mosffi_gen.h          mosffi_* types and all prototypes, for C
--   OUT/mosffi_layout.c       offsets, sizes and constant values as the C
--                             compiler sees them, for the ABI test
-- Usage: luajit gen_ffi.lua mosffi.h OUTDIR
local src, out = arg[1], arg[2]
assert(src and out, "usage: luajit gen_ffi.lua mosffi.h OUTDIR")

local function slurp(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local function spit(path, s)
    local f = assert(io.open(path, "wb"))
    f:write(s)
    f:close()
end

-- Comments go (ffi.cdef accepts them, but the generated C and the parser
-- below are simpler without).
local code = slurp(src):gsub("/%*.-%*/", "")

local aggregates = {}   -- { kind, name, fields = { {name, bitfield} }, text }
local consts = {}       -- constant names, in order
local protos = {}       -- prototype texts
local mosffi_enums = {} -- texts of enums whose constants are MOSFFI_*

local lines = {}
for l in (code .. "\n"):gmatch("(.-)\n") do
    lines[#lines + 1] = l
end

local i = 1
while i <= #lines do
    local l = lines[i]
    local kind, name = l:match("^(%a+) ([%w_]+) {%s*$")
    if (kind == "struct" or kind == "union") and name then
        local agg = { kind = kind, name = name, fields = {}, text = { l } }
        local depth = 1
        i = i + 1
        while depth > 0 do
            local m = assert(lines[i], "unterminated " .. name)
            agg.text[#agg.text + 1] = m
            if m:match("^%s*struct%s*{%s*$") or m:match("^%s*union%s*{%s*$") then
                depth = depth + 1
            elseif m:match("^%s*}") then
                depth = depth - 1
            elseif m:match(";%s*$") then
                local decl = m:gsub(";%s*$", "")
                local bits = decl:match(":%s*%d+%s*$")
                decl = decl:gsub(":%s*%d+%s*$", ""):gsub("%[.*$", "")
                local field = assert(decl:match("([%w_]+)%s*$"), m)
                agg.fields[#agg.fields + 1] = { field, bits ~= nil }
            end
            i = i + 1
        end
        aggregates[#aggregates + 1] = agg
    elseif l:match("^enum%s*{%s*$") then
        local text, mine = { l }, false
        i = i + 1
        while not lines[i]:match("^%s*}") do
            local c = lines[i]:match("^%s*([%w_]+)%s*=")
            if c then
                consts[#consts + 1] = c
                if c:match("^MOSFFI_") then mine = true end
            end
            text[#text + 1] = lines[i]
            i = i + 1
        end
        text[#text + 1] = lines[i]
        if mine then mosffi_enums[#mosffi_enums + 1] = table.concat(text, "\n") end
        i = i + 1
    elseif l:match("^%s*$") or l:match("^typedef") then
        i = i + 1
    else
        -- A prototype: up to the line that ends with ");".
        local text = { l }
        while not lines[i]:match("%);%s*$") do
            i = i + 1
            text[#text + 1] = assert(lines[i], "unterminated declaration: " .. l)
        end
        protos[#protos + 1] = table.concat(text, "\n")
        i = i + 1
    end
end

os.execute("mkdir -p '" .. out .. "/lua/mos'")
spit(out .. "/lua/mos/ffi_decl.lua",
     "-- generated from bindings/mosffi.h by bindings/gen_ffi.lua: do not edit\n" ..
     "return [==[\n" .. code .. "\n]==]\n")

-- mosffi_gen.h: what C must see of the boundary beside the real headers.
local h = {
    "/* generated from bindings/mosffi.h by bindings/gen_ffi.lua: do not edit */",
    "#ifndef MOSFFI_GEN_H", "#define MOSFFI_GEN_H",
    "#include <stdbool.h>", "#include <stddef.h>", "#include <stdint.h>",
    '#include "mos_api.h"', "",
}
for _, e in ipairs(mosffi_enums) do h[#h + 1] = e end
for _, a in ipairs(aggregates) do
    if a.name:match("^mosffi_") then h[#h + 1] = table.concat(a.text, "\n") end
end
for _, p in ipairs(protos) do h[#h + 1] = p end
h[#h + 1] = "#endif"
spit(out .. "/mosffi_gen.h", table.concat(h, "\n") .. "\n")

-- mosffi_layout.c: the compiler's view of every field and constant.
local c = {
    "/* generated from bindings/mosffi.h by bindings/gen_ffi.lua: do not edit */",
    "#include <stddef.h>", "#include <sys/socket.h>", "#include <sys/time.h>",
    "#include <netinet/in.h>", '#include "mos_api.h"', '#include "mtcp_util.h"',
    '#include "mosffi_gen.h"', "",
    "static const struct mosffi_field fields[] = {",
}
for _, a in ipairs(aggregates) do
    local t = a.kind .. " " .. a.name
    c[#c + 1] = string.format('\t{ "%s", "", -1, sizeof(%s) },', t, t)
    for _, f in ipairs(a.fields) do
        if not f[2] then
            c[#c + 1] = string.format(
                '\t{ "%s", "%s", offsetof(%s, %s), sizeof(((%s *)0)->%s) },',
                t, f[1], t, f[1], t, f[1])
        end
    end
end
c[#c + 1] = "};\n"
c[#c + 1] = "static const struct { const char *name; int64_t value; } consts[] = {"
for _, k in ipairs(consts) do
    c[#c + 1] = string.format('\t{ "%s", (int64_t)(%s) },', k, k)
end
c[#c + 1] = "};\n"
c[#c + 1] = [[
int
mosffi_abi_field(int i, struct mosffi_field *out)
{
	if (i < 0 || (size_t)i >= sizeof(fields) / sizeof(fields[0]))
		return -1;
	*out = fields[i];
	return 0;
}

int
mosffi_abi_const(int i, const char **name, int64_t *value)
{
	if (i < 0 || (size_t)i >= sizeof(consts) / sizeof(consts[0]))
		return -1;
	*name = consts[i].name;
	*value = consts[i].value;
	return 0;
}]]
spit(out .. "/mosffi_layout.c", table.concat(c, "\n") .. "\n")
