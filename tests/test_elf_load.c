/* The ELF loader (jit/elf_load.c): objects emitted here by LLVM with jit/llvm/engine.c's target
 * settings (host CPU and features, PIC, small code model, O3) are linked without LLVM and called,
 * against values computed here; damaged objects fail cleanly; the real disk cache's objects
 * link and compute what the library's own code computes. */
#include <criterion/criterion.h>

#define TJ_JIT_PRIVATE
#include "elf_load.h"
#include "jit.h"
#include "objcache.h"
#include "runtime_symbols.h"
#include "support.h"

#include <llvm-c/Core.h>
#include <llvm-c/IRReader.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- objects from IR text ------------------------------------------------------------------- */

typedef struct {
    unsigned char *p;
    size_t len;
} obj;

static LLVMTargetMachineRef host_machine(LLVMRelocMode reloc)
{
    cr_assert(!LLVMInitializeNativeTarget() && !LLVMInitializeNativeAsmPrinter() &&
              !LLVMInitializeNativeAsmParser()); /* the parser for module asm */
    char *triple = LLVMGetDefaultTargetTriple(), *cpu = LLVMGetHostCPUName(),
         *features = LLVMGetHostCPUFeatures(), *msg = NULL;
    LLVMTargetRef target;
    cr_assert(!LLVMGetTargetFromTriple(triple, &target, &msg), "%s", msg);
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, features,
                                                      LLVMCodeGenLevelAggressive, reloc,
                                                      LLVMCodeModelSmall);
    cr_assert(tm);
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    return tm;
}

/* IR text -> O3 -> an object file, as jit/llvm/compile.c makes them (reloc: LLVMRelocPIC there). */
static obj emit_reloc(const char *ir, LLVMRelocMode reloc)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(ir, strlen(ir), "t.ll");
    LLVMModuleRef mod;
    char *msg = NULL;
    cr_assert(!LLVMParseIRInContext(ctx, buf, &mod, &msg), "IR: %s\n%s", msg, ir); /* takes buf */
    LLVMTargetMachineRef tm = host_machine(reloc);
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(mod, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(mod, dl);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMErrorRef e = LLVMRunPasses(mod, "default<O3>", tm, opts);
    cr_assert(!e, "passes failed");
    LLVMMemoryBufferRef o;
    cr_assert(!LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, &o), "%s", msg);
    obj r = {.len = LLVMGetBufferSize(o)};
    r.p = malloc(r.len);
    memcpy(r.p, LLVMGetBufferStart(o), r.len);
    LLVMDisposeMemoryBuffer(o);
    LLVMDisposePassBuilderOptions(opts);
    LLVMDisposeModule(mod);
    LLVMDisposeTargetData(dl);
    LLVMDisposeTargetMachine(tm);
    LLVMContextDispose(ctx);
    return r;
}
static obj emit(const char *ir) { return emit_reloc(ir, LLVMRelocPIC); }

/* The largest alignment of o's loaded sections (o is a valid object LLVM just wrote). */
static uint64_t max_alignment(obj o)
{
    Elf64_Ehdr eh;
    memcpy(&eh, o.p, sizeof eh);
    uint64_t align = 0;
    for (int i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh;
        memcpy(&sh, o.p + eh.e_shoff + (size_t)i * sizeof sh, sizeof sh);
        if ((sh.sh_flags & SHF_ALLOC) && sh.sh_addralign > align)
            align = sh.sh_addralign;
    }
    return align;
}

/* ---- externals ------------------------------------------------------------------------------ */

static int powf_calls;
static int64_t ext_value = 0x1234567890;
/* Defined in this executable, far (> 2 GiB) from the image's mapping: reached through a stub. */
static float far_powf(float x, float y)
{
    powf_calls++;
    return powf(x, y);
}

static void *resolver(const char *name)
{
    static const struct {
        const char *name;
        void *addr;
    } table[] = {{"memcpy", (void *)memcpy}, {"memset", (void *)memset},
                 {"powf", (void *)far_powf}, {"ext_value", (void *)&ext_value}};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (!strcmp(name, table[i].name))
            return table[i].addr;
    return NULL;
}

static tjJ_image *load_objs(const obj *o, int nobj, const char *const *syms, int n, void **addrs)
{
    const void *p[4];
    size_t len[4];
    for (int i = 0; i < nobj; i++) {
        p[i] = o[i].p;
        len[i] = o[i].len;
    }
    char err[512] = "";
    tjJ_image *img = NULL;
    tj_status st = tjJ_image_load(NULL, p, len, nobj, resolver, syms, n, addrs, &img, err,
                                  sizeof err);
    cr_assert_eq(st, TJ_OK, "%s", err);
    cr_assert(img);
    for (int i = 0; i < n; i++)
        cr_assert(addrs[i], "%s", syms[i]);
    return img;
}

/* Loading o must fail; returns the status, the sentence in err. */
static tj_status load_fails(const void *p, size_t len, const char *const *syms, int n, char *err,
                            size_t errlen)
{
    tjJ_image *img = (tjJ_image *)&img; /* must be reset to NULL */
    void *addrs[8];
    err[0] = '\0';
    tj_status st = tjJ_image_load(NULL, &p, &len, 1, resolver, syms, n, addrs, &img, err, errlen);
    cr_assert_neq(st, TJ_OK);
    cr_assert_null(img);
    cr_assert(err[0], "no message");
    for (int i = 0; i < n; i++)
        cr_assert_null(addrs[i]);
    return st;
}

/* The permissions ("r-xp") of the mapping holding p, from /proc/self/maps; "" when unmapped. */
static void perms(const void *p, char out[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert(f);
    unsigned long lo, hi;
    char pr[5];
    out[0] = '\0';
    while (fscanf(f, "%lx-%lx %4s%*[^\n]", &lo, &hi, pr) == 3)
        if ((uintptr_t)p >= lo && (uintptr_t)p < hi)
            memcpy(out, pr, 5);
    fclose(f);
}

static bool mapped(const void *p)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned char v;
    void *start = (void *)((uintptr_t)p & ~(uintptr_t)(page - 1));
    return mincore(start, (size_t)page, &v) == 0 || errno != ENOMEM;
}

/* ---- the modules ---------------------------------------------------------------------------- */

/* Constants, a table of pointers (R_X86_64_64 in writable .data.rel.ro), a counter in .bss and
 * globals reached through the GOT. */
static const char basic_ir[] =
    "@tab = internal constant [8 x double] [double 1.5, double -2.25, double 3.125, double 4.0,"
    "  double -5.5, double 6.75, double 7.0, double 8.5]\n"
    "@ptrs = constant [2 x ptr] [ptr @tab, ptr @arith]\n"
    "@counter = global i64 0\n"
    "define i64 @arith(i64 %a, i64 %b) {\n"
    "  %m = mul i64 %a, %b\n  %s = add i64 %m, 7\n  %d = sdiv i64 %s, 3\n  ret i64 %d\n}\n"
    "define ptr @table() {\n  ret ptr @tab\n}\n"
    "define double @table_at(i64 %i) {\n"
    "  %p = getelementptr [8 x double], ptr @tab, i64 0, i64 %i\n"
    "  %v = load double, ptr %p\n  ret double %v\n}\n"
    "define ptr @ptr_at(i64 %i) {\n"
    "  %p = getelementptr [2 x ptr], ptr @ptrs, i64 0, i64 %i\n"
    "  %v = load ptr, ptr %p\n  ret ptr %v\n}\n"
    "define i64 @bump() {\n"
    "  %v = load i64, ptr @counter\n  %n = add i64 %v, 1\n  store i64 %n, ptr @counter\n"
    "  ret i64 %n\n}\n";

static const double tab[8] = {1.5, -2.25, 3.125, 4.0, -5.5, 6.75, 7.0, 8.5};

/* A <16 x float> loop (64-byte constants with AVX-512), memcpy/memset with run-time sizes,
 * powf and a data symbol from the resolver. Lane k: x * (k + 1) + (0.25 k - 2). */
static char *calls_ir(void)
{
    static char ir[4096];
    char mul[600] = "", add[600] = "";
    for (int k = 0; k < 16; k++) {
        snprintf(mul + strlen(mul), sizeof mul - strlen(mul), "%sfloat %d.0", k ? ", " : "", k + 1);
        snprintf(add + strlen(add), sizeof add - strlen(add), "%sfloat %.2f", k ? ", " : "",
                 0.25 * k - 2);
    }
    snprintf(ir, sizeof ir,
             "define void @vscale(ptr noalias %%out, ptr noalias %%in, i64 %%n) {\n"
             "entry:\n  %%z = icmp eq i64 %%n, 0\n  br i1 %%z, label %%exit, label %%loop\n"
             "loop:\n  %%i = phi i64 [ 0, %%entry ], [ %%next, %%loop ]\n"
             "  %%pi = getelementptr <16 x float>, ptr %%in, i64 %%i\n"
             "  %%v = load <16 x float>, ptr %%pi, align 4\n"
             "  %%m = fmul <16 x float> %%v, <%s>\n"
             "  %%a = fadd <16 x float> %%m, <%s>\n"
             "  %%po = getelementptr <16 x float>, ptr %%out, i64 %%i\n"
             "  store <16 x float> %%a, ptr %%po, align 4\n"
             "  %%next = add i64 %%i, 1\n  %%c = icmp ult i64 %%next, %%n\n"
             "  br i1 %%c, label %%loop, label %%exit\n"
             "exit:\n  ret void\n}\n"
             "declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)\n"
             "declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)\n"
             "define void @copy_fill(ptr %%dst, ptr %%src, i64 %%n, i64 %%m) {\n"
             "  call void @llvm.memcpy.p0.p0.i64(ptr %%dst, ptr %%src, i64 %%n, i1 false)\n"
             "  %%q = getelementptr i8, ptr %%dst, i64 %%n\n"
             "  call void @llvm.memset.p0.i64(ptr %%q, i8 90, i64 %%m, i1 false)\n"
             "  ret void\n}\n"
             "declare float @powf(float, float)\n"
             "define float @call_powf(float %%x, float %%y) {\n"
             "  %%r = call float @powf(float %%x, float %%y)\n  %%s = fadd float %%r, 1.0\n"
             "  ret float %%s\n}\n"
             "@ext_value = external global i64\n"
             "define i64 @read_ext() {\n  %%v = load i64, ptr @ext_value\n  ret i64 %%v\n}\n",
             mul, add);
    return ir;
}

/* Cases that compute different things from y, so LLVM makes a jump table, not a lookup table. */
static const char switch_ir[] =
    "define i32 @sw(i32 %x, i32 %y) {\n"
    "entry:\n  switch i32 %x, label %d [ i32 0, label %c0  i32 1, label %c1  i32 2, label %c2\n"
    "    i32 3, label %c3  i32 4, label %c4  i32 5, label %c5  i32 6, label %c6\n"
    "    i32 7, label %c7  i32 8, label %c8  i32 9, label %c9 ]\n"
    "c0:\n  %r0 = add i32 %y, 11\n  ret i32 %r0\n"
    "c1:\n  %r1 = mul i32 %y, 3\n  ret i32 %r1\n"
    "c2:\n  %r2 = xor i32 %y, 85\n  ret i32 %r2\n"
    "c3:\n  %r3 = shl i32 %y, 2\n  ret i32 %r3\n"
    "c4:\n  %r4 = sub i32 100, %y\n  ret i32 %r4\n"
    "c5:\n  %r5 = udiv i32 %y, 3\n  ret i32 %r5\n"
    "c6:\n  %r6 = and i32 %y, 240\n  ret i32 %r6\n"
    "c7:\n  %r7 = or i32 %y, 257\n  ret i32 %r7\n"
    "c8:\n  %r8 = lshr i32 %y, 1\n  ret i32 %r8\n"
    "c9:\n  %r9 = mul i32 %y, %y\n  ret i32 %r9\n"
    "d:\n  ret i32 -1\n}\n";

static int32_t sw_ref(int32_t x, int32_t y)
{
    uint32_t u = (uint32_t)y;
    switch (x) {
    case 0: return y + 11;
    case 1: return y * 3;
    case 2: return y ^ 85;
    case 3: return (int32_t)(u << 2);
    case 4: return 100 - y;
    case 5: return (int32_t)(u / 3);
    case 6: return y & 240;
    case 7: return y | 257;
    case 8: return (int32_t)(u >> 1);
    case 9: return y * y;
    default: return -1;
    }
}

/* Two objects: the second calls a function and reads a table the first defines. */
static const char lib_ir[] =
    "@shared_table = constant [4 x i64] [i64 10, i64 20, i64 30, i64 40]\n"
    "define i64 @callee(i64 %x) noinline {\n  %r = mul i64 %x, 5\n  %s = sub i64 %r, 2\n"
    "  ret i64 %s\n}\n";
static const char user_ir[] =
    "@shared_table = external constant [4 x i64]\n"
    "declare i64 @callee(i64)\n"
    "define i64 @caller(i64 %x) {\n  %r = call i64 @callee(i64 %x)\n  %i = and i64 %x, 3\n"
    "  %p = getelementptr [4 x i64], ptr @shared_table, i64 0, i64 %i\n"
    "  %v = load i64, ptr %p\n  %s = add i64 %r, %v\n  ret i64 %s\n}\n";

/* Every relocation type the loader handles, in constants the test reads back (the assembler
 * folds the absolute symbols into addends of symbol 0). */
static const char relocs_ir[] =
    "module asm \".section .rodata.reltest,\\22a\\22,@progbits\"\n"
    "module asm \".p2align 3\"\nmodule asm \".globl reltest\"\nmodule asm \"reltest:\"\n"
    "module asm \".reloc ., R_X86_64_PC64, powf+8\"\nmodule asm \".quad 0\"\n"
    "module asm \".reloc ., R_X86_64_32, 0x12345678\"\nmodule asm \".long 0\"\n"
    "module asm \".reloc ., R_X86_64_32S, -5\"\nmodule asm \".long 0\"\n"
    "module asm \".reloc ., R_X86_64_GOTPCREL, ext_value\"\nmodule asm \".long 0\"\n"
    "module asm \".reloc ., R_X86_64_GOTPCRELX, ext_value+4\"\nmodule asm \".long 0\"\n"
    "module asm \".reloc ., R_X86_64_REX_GOTPCRELX, ext_value-4\"\nmodule asm \".long 0\"\n"
    "module asm \".reloc ., R_X86_64_PLT32, powf\"\nmodule asm \".long 0\"\n"
    "module asm \".reloc ., R_X86_64_64, ext_value+16\"\nmodule asm \".quad 0\"\n"
    "module asm \".text\"\n";

/* ---- loading and calling -------------------------------------------------------------------- */

Test(elf_load, arithmetic_constants_and_data)
{
    obj o = emit(basic_ir);
    const char *syms[] = {"arith", "table", "table_at", "ptr_at", "bump"};
    void *a[5];
    tjJ_image *img = load_objs(&o, 1, syms, 5, a);
    int64_t (*arith)(int64_t, int64_t) = (int64_t(*)(int64_t, int64_t))a[0];
    for (int64_t x = -50; x <= 50; x += 7)
        for (int64_t y = -9; y <= 9; y += 4)
            cr_expect_eq(arith(x, y), (x * y + 7) / 3, "arith(%lld, %lld)", (long long)x,
                         (long long)y);
    const double *t = ((const double *(*)(void))a[1])();
    double (*at)(int64_t) = (double (*)(int64_t))a[2];
    for (int i = 0; i < 8; i++) {
        cr_expect_eq(t[i], tab[i], "table[%d]", i);
        cr_expect_eq(at(i), tab[i], "table_at(%d)", i);
    }
    void *(*ptr_at)(int64_t) = (void *(*)(int64_t))a[3];
    cr_expect_eq(ptr_at(0), (const void *)t);
    cr_expect_eq(ptr_at(1), a[0]);
    int64_t (*bump)(void) = (int64_t(*)(void))a[4];
    cr_expect_eq(bump(), 1);
    cr_expect_eq(bump(), 2);
    /* code read+execute, constants read-only, the counter writable */
    char p[5];
    perms(a[0], p);
    cr_expect_str_eq(p, "r-xp");
    perms(t, p);
    cr_expect_str_eq(p, "r--p");
    tjJ_image_free(img);
    cr_expect(!mapped(a[0]) && !mapped(t), "the image is still mapped after tjJ_image_free");
    free(o.p);
}

Test(elf_load, vector_constants_and_external_calls)
{
    obj o = emit(calls_ir());
    /* LLVM 19 puts 64-byte constants in .rodata aligned to 64 (there is no .rodata.cst64) and
     * loads them with vmovaps, which faults when they are not aligned */
    if (__builtin_cpu_supports("avx512f"))
        cr_expect_eq(max_alignment(o), 64, "AVX-512 host: 64-byte constants expected");
    const char *syms[] = {"vscale", "copy_fill", "call_powf", "read_ext"};
    void *a[4];
    tjJ_image *img = load_objs(&o, 1, syms, 4, a);

    enum { N = 37 };
    float in[N * 16], out[N * 16];
    for (int i = 0; i < N * 16; i++)
        in[i] = (float)(i % 23) * 0.5f - 3.0f;
    ((void (*)(float *, const float *, int64_t))a[0])(out, in, N);
    for (int i = 0; i < N * 16; i++) {
        int k = i % 16;
        cr_assert_eq(out[i], in[i] * (float)(k + 1) + (0.25f * (float)k - 2.0f), "lane %d", i);
    }

    unsigned char src[300], dst[320];
    for (int i = 0; i < 300; i++)
        src[i] = (unsigned char)(i * 7 + 1);
    memset(dst, 0, sizeof dst);
    ((void (*)(void *, const void *, int64_t, int64_t))a[1])(dst, src, 257, 40);
    cr_expect(!memcmp(dst, src, 257));
    for (int i = 257; i < 297; i++)
        cr_expect_eq(dst[i], 90, "byte %d", i);
    cr_expect_eq(dst[297], 0);

    /* far_powf lies in this executable, more than 2 GiB from the image: the stub path */
    long long dist = (long long)((uintptr_t)a[2] - (uintptr_t)(void *)far_powf);
    cr_expect(llabs(dist) > (1LL << 31), "the image is within 2 GiB of far_powf (%lld)", dist);
    float (*cp)(float, float) = (float (*)(float, float))a[2];
    cr_expect_eq(cp(2.0f, 10.0f), 1025.0f);
    cr_expect_eq(cp(9.0f, 0.5f), 4.0f);
    cr_expect_eq(powf_calls, 2);
    cr_expect_eq(((int64_t(*)(void))a[3])(), ext_value);
    ext_value = -77;
    cr_expect_eq(((int64_t(*)(void))a[3])(), -77);
    tjJ_image_free(img);
    free(o.p);
}

Test(elf_load, jump_table)
{
    obj o = emit(switch_ir);
    const char *syms[] = {"sw"};
    void *a[1];
    tjJ_image *img = load_objs(&o, 1, syms, 1, a);
    int32_t (*sw)(int32_t, int32_t) = (int32_t(*)(int32_t, int32_t))a[0];
    for (int32_t x = -2; x < 13; x++)
        for (int32_t y = 0; y < 300; y += 37)
            cr_expect_eq(sw(x, y), sw_ref(x, y), "sw(%d, %d)", x, y);
    tjJ_image_free(img);
    free(o.p);
}

static void *refuse_callee(const char *name)
{
    cr_expect(strcmp(name, "callee") && strcmp(name, "shared_table"),
              "%s is defined by an object: the resolver must not be asked", name);
    return NULL;
}

Test(elf_load, two_objects_link_to_each_other)
{
    obj o[2] = {emit(lib_ir), emit(user_ir)};
    const void *p[2] = {o[0].p, o[1].p};
    size_t len[2] = {o[0].len, o[1].len};
    const char *syms[] = {"caller", "callee"};
    void *a[2];
    tjJ_image *img = NULL;
    char err[512] = "";
    cr_assert_eq(tjJ_image_load(NULL, p, len, 2, refuse_callee, syms, 2, a, &img, err, sizeof err),
                 TJ_OK, "%s", err);
    int64_t (*caller)(int64_t) = (int64_t(*)(int64_t))a[0];
    static const int64_t table[4] = {10, 20, 30, 40};
    for (int64_t x = 0; x < 20; x++)
        cr_expect_eq(caller(x), x * 5 - 2 + table[x & 3], "caller(%lld)", (long long)x);
    tjJ_image_free(img);
    free(o[0].p);
    free(o[1].p);
}

Test(elf_load, every_relocation_type)
{
    obj o = emit(relocs_ir);
    const char *syms[] = {"reltest"};
    void *a[1];
    tjJ_image *img = load_objs(&o, 1, syms, 1, a);
    const unsigned char *d = a[0];
    int64_t q;
    int32_t l;
    memcpy(&q, d, 8);
    cr_expect_eq(q, (int64_t)((uintptr_t)(void *)far_powf + 8 - (uintptr_t)d), "PC64");
    memcpy(&l, d + 8, 4);
    cr_expect_eq((uint32_t)l, 0x12345678u, "32");
    memcpy(&l, d + 12, 4);
    cr_expect_eq(l, -5, "32S");
    for (int k = 0; k < 3; k++) { /* GOTPCREL, GOTPCRELX (+4), REX_GOTPCRELX (-4) */
        memcpy(&l, d + 16 + 4 * k, 4);
        const unsigned char *slot = d + 16 + 4 * k + l - (k == 1 ? 4 : k == 2 ? -4 : 0);
        void *v;
        memcpy(&v, slot, sizeof v);
        cr_expect_eq(v, (void *)&ext_value, "GOT slot %d", k);
        char p[5];
        perms(slot, p);
        cr_expect_str_eq(p, "r--p", "the GOT is read-only");
    }
    memcpy(&l, d + 28, 4); /* PLT32 to far_powf: a stub in the image */
    const unsigned char *stub = d + 28 + l;
    char p[5];
    perms(stub, p);
    cr_expect_str_eq(p, "r-xp");
    float (*f)(float, float);
    memcpy(&f, &stub, sizeof f);
    cr_expect_eq(f(2.0f, 3.0f), 8.0f);
    cr_expect_eq(powf_calls, 1);
    memcpy(&q, d + 32, 8);
    cr_expect_eq(q, (int64_t)(uintptr_t)&ext_value + 16, "64");
    tjJ_image_free(img);
    free(o.p);
}

/* ---- errors --------------------------------------------------------------------------------- */

static void *knows_nothing(const char *name)
{
    (void)name;
    return NULL;
}

Test(elf_load, missing_external_is_named)
{
    obj o = emit(calls_ir());
    const void *p = o.p;
    const char *syms[] = {"vscale"};
    void *a[1];
    tjJ_image *img;
    char err[512];
    cr_assert_eq(tjJ_image_load(NULL, &p, &o.len, 1, knows_nothing, syms, 1, a, &img, err,
                                sizeof err),
                 TJ_ERR_JIT);
    cr_expect_null(img);
    cr_expect(strstr(err, "undefined symbol") &&
                  (strstr(err, "memcpy") || strstr(err, "memset") || strstr(err, "powf") ||
                   strstr(err, "ext_value")),
              "%s", err);
    free(o.p);
}

Test(elf_load, missing_requested_symbol_is_named)
{
    obj o = emit(basic_ir);
    const char *syms[] = {"arith", "no_such_kernel"};
    char err[512];
    cr_expect_eq(load_fails(o.p, o.len, syms, 2, err, sizeof err), TJ_ERR_JIT);
    cr_expect(strstr(err, "no_such_kernel"), "%s", err);
    free(o.p);
}

Test(elf_load, absolute_32bit_relocation_overflow_is_an_error)
{
    /* a non-PIC object uses 32-bit absolute addresses: above 4 GiB they cannot be written */
    obj o = emit_reloc(basic_ir, LLVMRelocStatic);
    const char *syms[] = {"table"};
    char err[512];
    cr_expect_eq(load_fails(o.p, o.len, syms, 1, err, sizeof err), TJ_ERR_JIT);
    cr_expect(strstr(err, "does not fit in 32 bits"), "%s", err);
    free(o.p);
}

/* One relocation (or section) in a small object that the loader must refuse with `says`. */
static void expect_refused(const char *line, const char *says)
{
    char ir[1024], err[512];
    snprintf(ir, sizeof ir,
             "module asm \".comm common_sym, 8, 8\"\n"
             "module asm \".section .rodata.bad,\\22a\\22,@progbits\"\n"
             "module asm \"%s\"\nmodule asm \".quad 0\"\nmodule asm \".text\"\n", line);
    obj o = emit(ir);
    cr_expect_eq(load_fails(o.p, o.len, NULL, 0, err, sizeof err), TJ_ERR_JIT, "%s", line);
    cr_expect(strstr(err, says), "%s: %s", line, err);
    free(o.p);
}

Test(elf_load, unloadable_relocations_and_sections_are_errors)
{
    expect_refused(".reloc ., R_X86_64_32, 0x100000000", "type 10, symbol ) does not fit");
    expect_refused(".reloc ., R_X86_64_32S, 0x80000000", "type 11, symbol ) does not fit");
    expect_refused(".reloc ., R_X86_64_32S, -0x80000001", "does not fit in 32 bits");
    expect_refused(".reloc ., R_X86_64_PC32, 0", "type 2, symbol ) does not fit");
    expect_refused(".reloc ., R_X86_64_TPOFF32, 0", "unsupported type 23");
    expect_refused(".reloc ., R_X86_64_64, common_sym", "common_sym is a common symbol");
    expect_refused(".section .tdata,\\22awT\\22,@progbits", "section .tdata holds thread-local");
    expect_refused(".section .init_array,\\22aw\\22,@init_array", "constructors");
}

Test(elf_load, foreign_objects_are_rejected)
{
    obj o = emit(basic_ir);
    unsigned char *b = malloc(o.len);
    char err[512];
    struct {
        size_t at;
        unsigned char v;
        const char *says;
    } cases[] = {{4, 1, "ELF64"},  {5, 2, "little-endian"}, {16, 2, "relocatable"},
                 {18, 3, "x86-64"}, {0, 'X', "ELF64"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memcpy(b, o.p, o.len);
        b[cases[i].at] = cases[i].v;
        cr_expect_eq(load_fails(b, o.len, NULL, 0, err, sizeof err), TJ_ERR_JIT);
        cr_expect(strstr(err, cases[i].says), "case %zu: %s", i, err);
    }
    free(b);
    free(o.p);
}

Test(elf_load, every_truncation_fails)
{
    obj o = emit(calls_ir());
    char err[512];
    for (size_t len = 0; len < o.len; len++) {
        unsigned char *b = malloc(len ? len : 1); /* exact size: ASan sees any overread */
        memcpy(b, o.p, len);
        cr_assert_eq(load_fails(b, len, NULL, 0, err, sizeof err), TJ_ERR_JIT, "%zu bytes", len);
        free(b);
    }
    free(o.p);
}

Test(elf_load, random_corruptions_never_crash)
{
    obj o[2] = {emit(calls_ir()), emit(user_ir)};
    const char *syms[] = {"vscale"};
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int ok = 0, failed = 0;
    for (int round = 0; round < 600; round++) {
        obj src = o[round & 1];
        unsigned char *b = malloc(src.len);
        memcpy(b, src.p, src.len);
        for (int k = 0; k <= round % 3; k++) { /* one to three bytes */
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            b[(seed >> 33) % src.len] ^= (unsigned char)(1 + (seed >> 20) % 255);
        }
        const void *p = b;
        void *a[1];
        tjJ_image *img = NULL;
        char err[256];
        tj_status st = tjJ_image_load(NULL, &p, &src.len, 1, resolver, syms, round & 1 ? 0 : 1,
                                      a, &img, err, sizeof err);
        /* NOMEM: a damaged size may ask for more memory than mmap gives */
        cr_assert(st == TJ_OK ? img != NULL
                              : img == NULL && (st == TJ_ERR_JIT || st == TJ_ERR_NOMEM),
                  "%s", err);
        st == TJ_OK ? ok++ : failed++;
        tjJ_image_free(img); /* the code of a damaged object is never called */
        free(b);
    }
    cr_log_info("corruptions: %d loaded, %d refused", ok, failed);
    cr_expect(failed > 0);
    free(o[0].p);
    free(o[1].p);
}

Test(elf_load, null_arguments)
{
    obj o = emit(basic_ir);
    const void *p = o.p, *none = NULL;
    const char *syms[] = {"arith"}, *nosym[] = {NULL};
    void *a[1];
    tjJ_image *img;
    char err[256];
    cr_expect_eq(tjJ_image_load(NULL, &p, &o.len, 1, resolver, syms, 1, a, NULL, err, sizeof err),
                 TJ_ERR_INVALID);
    cr_expect_eq(tjJ_image_load(NULL, NULL, &o.len, 1, resolver, syms, 1, a, &img, err, 256),
                 TJ_ERR_INVALID);
    cr_expect_eq(tjJ_image_load(NULL, &p, NULL, 1, resolver, syms, 1, a, &img, err, 256),
                 TJ_ERR_INVALID);
    cr_expect_eq(tjJ_image_load(NULL, &p, &o.len, 0, resolver, syms, 1, a, &img, err, 256),
                 TJ_ERR_INVALID);
    cr_expect_eq(tjJ_image_load(NULL, &p, &o.len, 1, resolver, NULL, 1, a, &img, err, 256),
                 TJ_ERR_INVALID);
    cr_expect_eq(tjJ_image_load(NULL, &p, &o.len, 1, resolver, syms, 1, NULL, &img, err, 256),
                 TJ_ERR_INVALID);
    cr_expect_eq(tjJ_image_load(NULL, &p, &o.len, 1, resolver, syms, -1, a, &img, err, 256),
                 TJ_ERR_INVALID);
    cr_expect_eq(tjJ_image_load(NULL, &none, &o.len, 1, resolver, syms, 1, a, &img, NULL, 0),
                 TJ_ERR_INVALID);
    cr_expect_null(img);
    cr_expect_eq(tjJ_image_load(NULL, &p, &o.len, 1, resolver, nosym, 1, a, &img, err, 256),
                 TJ_ERR_INVALID);
    cr_expect_null(img);
    /* no symbols asked, no resolver needed for an object without externals */
    cr_expect_eq(tjJ_image_load(NULL, &p, &o.len, 1, NULL, NULL, 0, NULL, &img, err, 256), TJ_OK,
                 "%s", err);
    tjJ_image_free(img);
    tjJ_image_free(NULL);
    free(o.p);
}

/* ---- the allocator: every failure is NOMEM and leaves nothing ------------------------------- */

static int live, calls, fail_at;
static void *t_malloc(void *u, size_t n)
{
    (void)u;
    if (calls++ == fail_at)
        return NULL;
    live++;
    return malloc(n);
}
static void *t_realloc(void *u, void *p, size_t n)
{
    (void)u;
    if (calls++ == fail_at)
        return NULL;
    live += !p;
    return realloc(p, n);
}
static void t_free(void *u, void *p)
{
    (void)u;
    live -= p != NULL;
    free(p);
}

Test(elf_load, every_allocation_failure_is_nomem)
{
    obj o[2] = {emit(lib_ir), emit(user_ir)};
    const void *p[2] = {o[0].p, o[1].p};
    size_t len[2] = {o[0].len, o[1].len};
    const char *syms[] = {"caller"};
    tj_allocator mem = {t_malloc, t_realloc, t_free, NULL};
    tj_status st = TJ_ERR_NOMEM;
    for (fail_at = 0; st == TJ_ERR_NOMEM; fail_at++) {
        cr_assert_lt(fail_at, 1000);
        void *a[1];
        tjJ_image *img = NULL;
        char err[256];
        calls = live = 0;
        st = tjJ_image_load(&mem, p, len, 2, resolver, syms, 1, a, &img, err, sizeof err);
        if (st == TJ_OK) {
            cr_expect_eq(((int64_t(*)(int64_t))a[0])(3), 3 * 5 - 2 + 40);
            cr_expect_eq(live, 1, "the image keeps one block");
            tjJ_image_free(img);
        } else {
            cr_expect_eq(st, TJ_ERR_NOMEM, "allocation %d: %s", fail_at, err);
            cr_expect_null(img);
        }
        cr_expect_eq(live, 0, "allocation %d failed: %d blocks left", fail_at, live);
    }
    cr_expect_gt(fail_at, 3);
    free(o[0].p);
    free(o[1].p);
}

/* ---- the real thing: a module of the disk cache --------------------------------------------- */

/* What compiled kernels call: the library's own table (jit/runtime_symbols.h), recording which
 * names were asked for. */
enum { NRUNTIME = sizeof tjJ_runtime_symbols / sizeof *tjJ_runtime_symbols };
static bool runtime_asked[NRUNTIME];

static void *runtime_symbol(const char *name)
{
    for (size_t i = 0; i < NRUNTIME; i++)
        if (!strcmp(name, tjJ_runtime_symbols[i].name)) {
            runtime_asked[i] = true;
            return tjJ_runtime_symbols[i].addr;
        }
    return NULL;
}

static bool asked(const char *name)
{
    for (size_t i = 0; i < NRUNTIME; i++)
        if (!strcmp(name, tjJ_runtime_symbols[i].name))
            return runtime_asked[i];
    return false;
}

typedef struct {
    char dir[64], path[400];
    tjJ_artifacts art;
    char hex[33];
    int nkernels;
} cached;

/* Compiles the function of `outs` in a context whose disk cache is a fresh directory, then
 * reads the one cache file back as tjJ_compile would (tjJ_cache_load). */
static void compile_and_read(tj_ctx *ctx, tj_var *x, tj_var **outs, int nout, tj_array *xv,
                             tj_array **res, cached *c)
{
    tj_fn *f = tj_function(ctx, &x, 1, outs, nout, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    cr_assert(tj_fn_jitted(f));
    cr_assert_eq(tj_call(f, &xv, res), TJ_OK, "%s", tj_errmsg(ctx));
    DIR *d = opendir(c->dir);
    cr_assert(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tjo") && ++files)
            snprintf(c->path, sizeof c->path, "%s/%s", c->dir, e->d_name);
    closedir(d);
    cr_assert_eq(files, 1);
    FILE *fp = fopen(c->path, "rb");
    uint8_t head[48], digest[32];
    cr_assert(fp && fread(head, 1, sizeof head, fp) == sizeof head);
    fclose(fp);
    memcpy(digest, head + 16, sizeof digest); /* magic, version, ngroups, then the digest */
    bool nomem;
    cr_assert(tjJ_cache_load(NULL, c->path, digest, &c->art, &nomem), "%s", c->path);
    for (int b = 0; b < 16; b++)
        snprintf(c->hex + 2 * b, 3, "%02x", digest[b]);
    char def[64];
    snprintf(def, sizeof def, "define void @tjk_%s_", c->hex);
    c->nkernels = 0;
    for (int g = 0; g < c->art.ngroups; g++)
        for (const char *s = c->art.ir_opt[g]; (s = strstr(s, def)); s++)
            c->nkernels++;
    cr_assert_gt(c->nkernels, 0);
}

/* Loads every object of the cache file and every kernel symbol. */
static tjJ_image *load_cached(cached *c, void **fns)
{
    const void *p[8];
    size_t len[8];
    cr_assert_leq(c->art.ngroups, 8);
    for (int g = 0; g < c->art.ngroups; g++) {
        p[g] = c->art.obj[g].p;
        len[g] = c->art.obj[g].len;
    }
    char names[16][64];
    const char *syms[16];
    cr_assert_leq(c->nkernels, 16);
    for (int i = 0; i < c->nkernels; i++) {
        snprintf(names[i], sizeof names[i], "tjk_%s_%d", c->hex, i);
        syms[i] = names[i];
    }
    tjJ_image *img = NULL;
    char err[512] = "";
    cr_assert_eq(tjJ_image_load(NULL, p, len, c->art.ngroups, runtime_symbol, syms, c->nkernels,
                                fns, &img, err, sizeof err),
                 TJ_OK, "%s: %s", c->path, err);
    for (int i = 0; i < c->nkernels; i++) {
        cr_expect(fns[i], "%s", syms[i]);
        for (int j = 0; j < i; j++)
            cr_expect_neq(fns[i], fns[j]);
    }
    return img;
}

/* A context whose disk cache is a fresh directory (the test is skipped under TJ_JIT=off). */
static tj_ctx *fresh_cache(cached *c)
{
    if (tjt_jit_off())
        cr_skip_test("TJ_JIT=off: nothing is compiled");
    snprintf(c->dir, sizeof c->dir, "/tmp/tj-elfload-XXXXXX");
    cr_assert(mkdtemp(c->dir));
    setenv("TJ_CACHE_DIR", c->dir, 1);
    return tj_ctx_new();
}

static void remove_cache(cached *c)
{
    tjJ_artifacts_free(&c->art);
    unlink(c->path);
    rmdir(c->dir);
}

Test(elf_load, real_cached_kernels_all_link)
{
    cached c;
    tj_ctx *ctx = fresh_cache(&c);
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *t = tj_tanh(tj_mulc(x, 3));
    tj_var *outs[5] = {t, tj_sum(tj_mul(tj_sigmoid(tj_mulc(x, 2)), t), NULL, 0, false),
                       tj_max(tj_pow(tj_abs(x), tj_exp(x)), NULL, 0, false), tj_sin(x),
                       tj_modc(x, 0.7)};
    int64_t n = 100;
    double xs[100];
    for (int i = 0; i < n; i++)
        xs[i] = 0.03 * i - 1.2;
    tj_array *xv = tjt_array(TJ_FLOAT64, 1, &n, xs), *res[5];
    compile_and_read(ctx, x, outs, 5, xv, res, &c);
    void *fns[16];
    tjJ_image *img = load_cached(&c, fns);
    cr_log_info("%d kernels in %d objects", c.nkernels, c.art.ngroups);
    cr_expect(asked("sin") && asked("fmod"), "the kernels call libm's sin and fmod");
    tjJ_image_free(img);
    for (int i = 0; i < 5; i++)
        tj_array_unref(res[i]);
    tj_array_unref(xv);
    tj_ctx_free(ctx);
    remove_cache(&c);
}

Test(elf_load, real_cached_kernel_computes)
{
    cached c;
    tj_ctx *ctx = fresh_cache(&c);
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x");
    tj_var *y = tj_tanh(tj_mulc(x, 3));
    enum { N = 1003 }; /* not a multiple of any vector width */
    int64_t n = N;
    double xs[N];
    for (int i = 0; i < N; i++)
        xs[i] = 0.004 * i - 2.0;
    tj_array *xv = tjt_array(TJ_FLOAT32, 1, &n, xs), *res;
    compile_and_read(ctx, x, &y, 1, xv, &res, &c);
    cr_assert_eq(c.nkernels, 1);
    void *fns[1];
    tjJ_image *img = load_cached(&c, fns);
    float out[N];
    char *ptrs[2] = {tj_array_data(xv), (char *)out};
    int64_t shape[1] = {N}, strides[2] = {1, 1};
    ((tjK_fn)fns[0])(ptrs, shape, strides, 1, 0, N);
    const float *lib = tj_array_data(res);
    for (int i = 0; i < N; i++) {
        float xf = (float)xs[i];
        cr_expect(fabs(out[i] - tanh(3.0 * xf)) < 2e-6, "tanh(3 * %g) = %g", xf, out[i]);
        cr_expect(!memcmp(&out[i], &lib[i], sizeof(float)), "%d: %a, the library's %a", i,
                  out[i], lib[i]);
    }
    tjJ_image_free(img);
    tj_array_unref(res);
    tj_array_unref(xv);
    tj_ctx_free(ctx);
    remove_cache(&c);
}
