// The Catch2 v2 main() shared by every probed test executable (library probed_catch_main).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
