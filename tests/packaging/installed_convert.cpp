// A C++ program built from the installed packages only (tests/packaging/test_packages.sh):
//   c++ -std=c++20 $(pkg-config --cflags roomrec-convert) installed_convert.cpp $(pkg-config --libs roomrec-convert)
// The installed C++ headers compile on their own (<roomrec/recording_service.h>, the
// conversion ones), and the installed libroomrec-convert transmuxes the room that
// installed_host recorded: it prints the result JSON and fails unless one file came out.
#include <roomrec/recording_service.h>
#include <roomrec/version.h>
#include <roomrec_convert.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: installed_convert ROOM_DIR OUT_DIR\n");
    return 2;
  }
  roomrec::RecordingServiceConfig cfg;  // the C++ API's types are usable from the installed headers
  (void)cfg;
  const std::string job = std::string("{\"input\": \"") + argv[1] + "\", \"transmux\": {\"output\": \"" + argv[2] +
                          "\"}}";
  char* result = nullptr;
  const int rc = roomrec_convert(job.c_str(), &result);
  if (rc != ROOMREC_OK) {
    std::fprintf(stderr, "installed_convert: roomrec_convert failed: %d %s\n", rc, roomrec_last_error());
    return 1;
  }
  std::printf("installed_convert (headers %s): %s\n", ROOMREC_VERSION_STRING, result);
  const bool one_file = std::string(result).find(".webm") != std::string::npos;
  roomrec_free_string(result);
  return one_file ? 0 : 1;
}
