/* roomrec.h alone, compiled as strict C11 (-std=c11 -pedantic -Werror -Wall
 * -Wextra): it needs nothing but <stdint.h>/<stddef.h>, and its constants and
 * the loaded library agree. */
#include <roomrec.h>
#include <roomrec_convert.h>

#include <stdio.h>
#include <string.h>

int main(void) {
  int bad = 0;
  if (roomrec_abi_version() != ROOMREC_ABI_VERSION) ++bad;
  char v[32];
  snprintf(v, sizeof v, "%d.%d.%d", ROOMREC_C_VERSION_MAJOR, ROOMREC_C_VERSION_MINOR, ROOMREC_C_VERSION_PATCH);
  if (strcmp(v, roomrec_version()) != 0) ++bad;
  /* Pinned values. */
  if (ROOMREC_ERR_INVALID_ARGUMENT != -1 || ROOMREC_ERR_INTERNAL != -11 || ROOMREC_RECORD_INVALID != 6) ++bad;
  if (strcmp(roomrec_strerror(ROOMREC_ERR_PERMISSION_DENIED), "permission_denied") != 0) ++bad;
  if (roomrec_last_error() == NULL) ++bad;
  roomrec_free_string(NULL);
  printf("roomrec %s, ABI %d: %s\n", roomrec_version(), roomrec_abi_version(), bad ? "MISMATCH" : "ok");
  return bad ? 1 : 0;
}
