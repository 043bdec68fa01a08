#include <ares.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

#include <iostream>

#include "daemon/cli/commands.h"

#ifndef PROBED_VERSION
#define PROBED_VERSION "0.0.0"
#endif

namespace probed::cli {

int version() {
  const curl_version_info_data* cv = curl_version_info(CURLVERSION_NOW);
  std::cout << "probed " << PROBED_VERSION << "\n"
            << "  libcurl " << cv->version << "\n"
            << "  c-ares " << ares_version(nullptr) << "\n"
            << "  " << OpenSSL_version(OPENSSL_VERSION) << "\n";
  return 0;
}

}  // namespace probed::cli
