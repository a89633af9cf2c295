// Symbol export macro: the shared library is built with hidden visibility and
// exports only what is marked ROOMREC_API.
#pragma once

#if defined(_WIN32)
#  if defined(ROOMREC_BUILDING)
#    define ROOMREC_API __declspec(dllexport)
#  else
#    define ROOMREC_API __declspec(dllimport)
#  endif
#else
#  define ROOMREC_API __attribute__((visibility("default")))
#endif

// Private members of exported classes: never exported (the version script
// would export them otherwise, being in namespace roomrec).
#if defined(_WIN32)
#  define ROOMREC_HIDDEN
#else
#  define ROOMREC_HIDDEN __attribute__((visibility("hidden")))
#endif
