# Turns default.toml into a C++ source holding it as a string (run at build time).
file(READ "${IN}" content)
file(WRITE "${OUT}" "// Generated from config/default.toml; do not edit.\n#include <string_view>\n#include \"config/loader.h\"\nnamespace probed::config {\nstd::string_view default_config_text() {\n  return R\"probed_toml(${content})probed_toml\";\n}\n}  // namespace probed::config\n")
