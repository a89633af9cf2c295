/* CHECK and REQUIRE for the C ABI tests: a failed CHECK is printed with
 * roomrec_last_error() and counted in `failures`; a failed REQUIRE also
 * returns 1 from the calling function. One test program per translation unit. */
#ifndef ROOMREC_TESTS_CAPI_CHECK_H
#define ROOMREC_TESTS_CAPI_CHECK_H

#include <roomrec.h>

#include <stdio.h>

static int failures = 0;

#define CHECK(cond)                                                                             \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              roomrec_last_error());                                                            \
      ++failures;                                                                               \
    }                                                                                           \
  } while (0)

#define REQUIRE(cond)                                                                           \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      fprintf(stderr, "%s:%d: REQUIRE failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              roomrec_last_error());                                                            \
      return 1;                                                                                 \
    }                                                                                           \
  } while (0)

#endif
