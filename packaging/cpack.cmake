# The Debian package (docs/operations.md): `cpack -G DEB` in the build directory, or
# `cmake --build build --target package`. Installs /usr/bin/probed, the systemd unit, an
# offline-safe /etc/probed/probed.toml (a conffile: upgrades keep local edits) and the docs.
include(GNUInstallDirs)

install(FILES ${PROJECT_SOURCE_DIR}/systemd/probed.service DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/probed.toml DESTINATION /etc/probed)
set(probed_docdir share/doc/probed)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${CMAKE_CURRENT_LIST_DIR}/copyright DESTINATION ${probed_docdir})
file(GLOB probed_docs ${PROJECT_SOURCE_DIR}/docs/*.md)
file(GLOB probed_check_docs ${PROJECT_SOURCE_DIR}/docs/checks/*.md)
install(FILES ${probed_docs} DESTINATION ${probed_docdir})
install(FILES ${probed_check_docs} DESTINATION ${probed_docdir}/checks)
install(FILES ${PROJECT_SOURCE_DIR}/config/examples/probed.toml DESTINATION ${probed_docdir}/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME probed)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "probed maintainers <probed@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "synthetic-monitoring probe daemon (blackbox_exporter compatible)")
set(CPACK_PACKAGE_DESCRIPTION "probed runs HTTP, DNS, TCP, TLS and certificate-file checks on a schedule \
from one event loop, exports Prometheus metrics with blackbox_exporter's names, and serves a \
status page, a JSON API and a blackbox-compatible /probe endpoint.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)                # debug info stays in the build tree
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # probed_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends from the binary's real shared libraries (libcurl4, libc-ares2, libssl3, ...).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")   # the default config's cert_file check
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/conffiles ${CMAKE_CURRENT_LIST_DIR}/postinst
    ${CMAKE_CURRENT_LIST_DIR}/prerm ${CMAKE_CURRENT_LIST_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
