/* The disk cache of compiled objects (objcache.c). */
#ifndef TJ_JIT_OBJCACHE_H
#define TJ_JIT_OBJCACHE_H

#include "backend.h"
#include "digest.h"

/* The cache file of a digest under dir; false when dir is NULL (the cache is off). */
TJ_HIDDEN bool tjJ_cache_path(const char *dir, const uint8_t *digest, char *path, size_t len);
/* Loads a valid cache file for digest into out, memory from mem (false: absent, foreign or
 * damaged, or *nomem: mem failed, which is the compile's failure rather than a miss). */
TJ_HIDDEN bool tjJ_cache_load(const tj_allocator *mem, const char *path, const uint8_t *digest,
                              tjJ_artifacts *out, bool *nomem);
/* Writes the artifacts atomically; a failure only means no cache file. */
TJ_HIDDEN void tjJ_cache_store(const char *path, const char *dir, const uint8_t *digest,
                               const tjJ_artifacts *a);

#endif /* TJ_JIT_OBJCACHE_H */
