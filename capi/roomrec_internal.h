/* Internal to roomrec's own libraries (not installed): libroomrec-convert's C
 * ABI sets the calling thread's roomrec_last_error() message, which lives in
 * libroomrec, through this function. Exported from libroomrec in the private
 * version node ROOMREC_PRIVATE (abi/libroomrec.map); no host may call it. */
#ifndef ROOMREC_INTERNAL_H
#define ROOMREC_INTERNAL_H

#include "roomrec.h"

#ifdef __cplusplus
extern "C" {
#endif

ROOMREC_C_API void roomrec_internal_set_last_error(const char* message);

#ifdef __cplusplus
}
#endif

#endif
