/* tjJ_host_id: the part of the disk cache key that says which CPU the code was compiled for.
 *
 * LLVM derives the host CPU name and feature list from cpuid and XCR0 (which register states the
 * OS saves); the same bits give the same code. These are the leaves LLVM 19's host detection
 * reads (llvm/lib/TargetParser/Host.cpp), minus fields that differ between cores of one machine
 * (leaf 1's EBX holds the APIC id), so every process on one machine agrees. */
#include "digest.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

static char host_id[512];

static void identify(void)
{
    unsigned max = __get_cpuid_max(0, NULL), ext = __get_cpuid_max(0x80000000, NULL);
    unsigned a, b, c, d;
    size_t at = 0;
    char vendor[13] = "";
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        memcpy(vendor, &b, 4);
        memcpy(vendor + 4, &d, 4);
        memcpy(vendor + 8, &c, 4);
    }
    at += (size_t)snprintf(host_id + at, sizeof host_id - at, "x86_64 %s", vendor);
    /* leaf, subleaf, which registers (bit 0 eax .. bit 3 edx) */
    static const struct {
        unsigned leaf, sub, regs;
    } leaves[] = {{1, 0, 0xd},   {7, 0, 0xf},    {7, 1, 0xf},         {0xd, 1, 0x1},
                  {0x14, 0, 0x2}, {0x19, 0, 0x2}, {0x24, 0, 0x2},      {0x80000001, 0, 0xc},
                  {0x80000008, 0, 0x2}};
    unsigned leaf1_ecx = 0; /* its OSXSAVE bit says whether xgetbv may be used */
    for (size_t i = 0; i < sizeof leaves / sizeof *leaves; i++) {
        unsigned leaf = leaves[i].leaf;
        a = b = c = d = 0;
        if (leaf < 0x80000000 ? leaf <= max : leaf <= ext)
            __cpuid_count(leaf, leaves[i].sub, a, b, c, d);
        if (leaf == 1)
            leaf1_ecx = c;
        unsigned r[4] = {a, b, c, d};
        for (int k = 0; k < 4; k++)
            if (leaves[i].regs >> k & 1)
                at += (size_t)snprintf(host_id + at, sizeof host_id - at, " %x", r[k]);
    }
    unsigned xcr0 = 0;
    if (leaf1_ecx & bit_OSXSAVE) {
        unsigned hi;
        __asm__ volatile("xgetbv" : "=a"(xcr0), "=d"(hi) : "c"(0));
    }
    snprintf(host_id + at, sizeof host_id - at, " xcr0 %x", xcr0);
}

const char *tjJ_host_id(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, identify);
    return host_id;
}
#else
const char *tjJ_host_id(void) { return NULL; }
#endif
