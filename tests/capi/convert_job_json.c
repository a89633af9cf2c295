/* A job through the C ABI exactly as a C host sends it: argv[1] is the job
 * JSON for roomrec_convert(). Prints the result JSON and exits 0, or prints
 * "<code> <roomrec_last_error()>" and exits 1. Used by
 * tests/integration/test_option_table.py (the same bad option through C,
 * Python, the CLI and the worker gets the same message). */
#include <roomrec.h>
#include <roomrec_convert.h>

#include <stdio.h>

int main(int argc, char** argv) {
  char* result = NULL;
  int rc;
  if (argc != 2) {
    fprintf(stderr, "usage: %s JOB_JSON\n", argv[0]);
    return 2;
  }
  rc = roomrec_convert(argv[1], &result);
  if (rc != ROOMREC_OK) {
    printf("%d %s\n", rc, roomrec_last_error());
    return 1;
  }
  printf("%s\n", result);
  roomrec_free_string(result);
  return 0;
}
