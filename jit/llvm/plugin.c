/* The plugin's one exported symbol (libtensorjit-llvm.so): the table the core calls through
 * (jit/backend.h). Everything else in the plugin is local (plugin.map). */
#include "llvm.h"

#include "jit_build_id.h" /* generated: a hash of the code generator's sources */

__attribute__((visibility("default"))) const tjJ_backend *tjJ_llvm_backend(void);

const tjJ_backend *tjJ_llvm_backend(void)
{
    static const tjJ_backend table = {
        .abi = TJJ_BACKEND_ABI,
        .build_id = TJ_JIT_BUILD_ID,
        .orc_new = tjO_orc_new,
        .orc_free = tjO_orc_free,
        .compile = tjO_compile,
        .link = tjO_link,
        .unlink = tjO_unlink,
        .assembly = tjO_assembly,
    };
    return &table;
}
