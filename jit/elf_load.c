/* tjJ_image_load: a small static linker for LLVM's x86-64 ELF relocatable objects.
 *
 * Layout of the one mapping: code (+ stubs) | constants (+ GOT) | writable data, each part on
 * its own pages. It is written while read+write and protected last, so no page is ever
 * writable and executable. Externals may lie more than 2 GiB away: a PLT32 or PC32 to one that
 * does not reach goes through a stub `jmp *slot(%rip)` (PIC code reaches external data through
 * the GOT, so such a reference is a call), and GOTPCREL loads read a slot here. Every symbol
 * has a slot and a stub reserved (objects have few symbols), filled when used.
 *
 * The bytes come from a checksummed cache file but are untrusted anyway: every offset, size,
 * index and string is checked before use, the image is capped at 1 GiB (so sums of checked
 * sizes cannot overflow), and headers are copied out with memcpy (offsets may be unaligned). */
#include "elf_load.h"

#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_IMAGE ((size_t)1 << 30)
enum { STUB = 8, SLOT = 8, NCLASS = 3 }; /* classes: 0 code, 1 constants, 2 writable data */

struct tjJ_image {
    tj_allocator mem;
    bool hooked; /* mem was given (else the C library) */
    void *base;
    size_t size;
};

typedef struct {
    Elf64_Shdr h;
    int cls;    /* -1: not loaded */
    size_t off; /* in the image */
} section;

typedef struct {
    const unsigned char *p;
    size_t len;
    int id; /* index in objs[], for messages */
    unsigned nsec, symtab;
    section *sec;
    size_t nsym, first_global, slot0; /* slot0: its first GOT slot and stub */
    const char *str, *shstr;
    size_t strsize, shstrsize;
    struct {
        uint64_t addr;
        int state; /* 0 unresolved, 1 resolved, 2 resolved outside the objects */
    } *syms;
} object;

typedef struct {
    const tj_allocator *mem;
    object *o;
    int nobj;
    tjJ_resolver resolve;
    unsigned char *base;
    size_t size, part[NCLASS + 1]; /* class c spans [part[c], part[c+1]) */
    size_t stubs, got;
    char *err;
    size_t errlen;
} linker;

static tj_status fail(linker *l, tj_status st, const char *fmt, ...) TJ_PRINTF(3, 4);
static tj_status fail(linker *l, tj_status st, const char *fmt, ...)
{
    if (l->err && l->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->err, l->errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* The bytes [off, off + size) of the object, or NULL when they are not all inside it. */
static const unsigned char *span(const object *o, uint64_t off, uint64_t size)
{
    return off <= o->len && size <= o->len - off ? o->p + off : NULL;
}

/* The NUL-terminated string at off in a string table, or NULL. */
static const char *string_at(const char *tab, size_t size, uint64_t off)
{
    return tab && off < size && memchr(tab + off, '\0', size - off) ? tab + off : NULL;
}

static const char *sec_name(const object *o, size_t i)
{
    const char *s = i < o->nsec ? string_at(o->shstr, o->shstrsize, o->sec[i].h.sh_name) : NULL;
    return s ? s : "?";
}

static Elf64_Sym read_sym(const object *o, size_t i) /* i < o->nsym */
{
    Elf64_Sym s;
    memcpy(&s, o->p + o->sec[o->symtab].h.sh_offset + i * sizeof s, sizeof s);
    return s;
}

static const char *sym_name(const object *o, size_t i)
{
    const char *s = string_at(o->str, o->strsize, read_sym(o, i).st_name);
    return s ? s : "?";
}

/* Checks the headers and finds the symbol table and the sections to load. */
static tj_status parse(linker *l, object *o)
{
    Elf64_Ehdr eh;
    if (o->len < sizeof eh)
        return fail(l, TJ_ERR_JIT, "object %d is %zu bytes, too short for an ELF header", o->id,
                    o->len);
    memcpy(&eh, o->p, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return fail(l, TJ_ERR_JIT, "object %d is not a little-endian ELF64 file", o->id);
    if (eh.e_machine != EM_X86_64 || eh.e_type != ET_REL)
        return fail(l, TJ_ERR_JIT,
                    "object %d is not an x86-64 relocatable object (type %u, machine %u)", o->id,
                    eh.e_type, eh.e_machine);
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shnum >= SHN_LORESERVE ||
        eh.e_shstrndx >= eh.e_shnum ||
        !span(o, eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr)))
        return fail(l, TJ_ERR_JIT, "object %d has a bad section header table", o->id);
    o->nsec = eh.e_shnum;
    if (!(o->sec = tjC_mem_calloc(l->mem, o->nsec, sizeof *o->sec)))
        return fail(l, TJ_ERR_NOMEM, "out of memory loading object %d", o->id);
    for (unsigned i = 0; i < o->nsec; i++) {
        memcpy(&o->sec[i].h, o->p + eh.e_shoff + (size_t)i * sizeof(Elf64_Shdr),
               sizeof(Elf64_Shdr));
        o->sec[i].cls = -1;
        const Elf64_Shdr *h = &o->sec[i].h;
        if (h->sh_type != SHT_NOBITS && !span(o, h->sh_offset, h->sh_size))
            return fail(l, TJ_ERR_JIT, "object %d: section %u lies outside the file", o->id, i);
    }
    const Elf64_Shdr *ss = &o->sec[eh.e_shstrndx].h;
    if (ss->sh_type != SHT_STRTAB)
        return fail(l, TJ_ERR_JIT, "object %d has no section name table", o->id);
    o->shstr = (const char *)o->p + ss->sh_offset;
    o->shstrsize = ss->sh_size;
    for (unsigned i = 1; i < o->nsec; i++) {
        section *s = &o->sec[i];
        const Elf64_Shdr *h = &s->h;
        if (h->sh_type == SHT_SYMTAB) {
            if (o->symtab || h->sh_entsize != sizeof(Elf64_Sym) || h->sh_size % sizeof(Elf64_Sym) ||
                h->sh_link >= o->nsec || o->sec[h->sh_link].h.sh_type != SHT_STRTAB ||
                h->sh_info > h->sh_size / sizeof(Elf64_Sym))
                return fail(l, TJ_ERR_JIT, "object %d: bad symbol table %s", o->id, sec_name(o, i));
            o->symtab = i;
            o->nsym = h->sh_size / sizeof(Elf64_Sym);
            o->first_global = h->sh_info;
            o->str = (const char *)o->p + o->sec[h->sh_link].h.sh_offset;
            o->strsize = o->sec[h->sh_link].h.sh_size;
        }
        if (!(h->sh_flags & SHF_ALLOC))
            continue;
        if ((h->sh_flags & SHF_TLS) || h->sh_type == SHT_INIT_ARRAY ||
            h->sh_type == SHT_FINI_ARRAY || h->sh_type == SHT_PREINIT_ARRAY)
            return fail(l, TJ_ERR_JIT,
                        "object %d: section %s holds thread-local data or constructors, which "
                        "this loader does not support", o->id, sec_name(o, i));
        /* .eh_frame is not loaded: nothing unwinds through kernels. Other sections than code
         * and data (notes) neither; a relocation or symbol that needs one is an error. */
        if ((h->sh_type != SHT_PROGBITS && h->sh_type != SHT_NOBITS) ||
            !strcmp(sec_name(o, i), ".eh_frame"))
            continue;
        if (h->sh_addralign > (uint64_t)sysconf(_SC_PAGESIZE) ||
            (h->sh_addralign & (h->sh_addralign - 1)) || h->sh_size > MAX_IMAGE)
            return fail(l, TJ_ERR_JIT, "object %d: section %s has a bad alignment or size",
                        o->id, sec_name(o, i));
        s->cls = (h->sh_flags & SHF_EXECINSTR) ? 0 : (h->sh_flags & SHF_WRITE) ? 2 : 1;
    }
    o->syms = tjC_mem_calloc(l->mem, o->nsym, sizeof *o->syms);
    return o->syms ? TJ_OK : fail(l, TJ_ERR_NOMEM, "out of memory loading object %d", o->id);
}

/* Appends size bytes aligned to align (a power of two) at *at; false past MAX_IMAGE. */
static bool place(size_t *at, size_t align, uint64_t size, size_t *where)
{
    size_t a = align ? align : 1, start = (*at + a - 1) & ~(a - 1); /* *at <= MAX_IMAGE */
    if (start > MAX_IMAGE || size > MAX_IMAGE - start)
        return false;
    *where = start;
    *at = start + size;
    return true;
}

/* Offsets of every loaded section, the stubs and the GOT; each class on its own pages. */
static tj_status layout(linker *l)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), nslots = 0, at = 0, where;
    for (int k = 0; k < l->nobj; k++) {
        l->o[k].slot0 = nslots;
        nslots += l->o[k].nsym; /* each <= its length / 24 */
        if (nslots > MAX_IMAGE / STUB)
            return fail(l, TJ_ERR_JIT, "the objects have too many symbols");
    }
    for (int c = 0; c < NCLASS; c++) {
        l->part[c] = at;
        for (int k = 0; k < l->nobj; k++)
            for (unsigned i = 0; i < l->o[k].nsec; i++) {
                section *s = &l->o[k].sec[i];
                if (s->cls == c && !place(&at, s->h.sh_addralign, s->h.sh_size, &s->off))
                    return fail(l, TJ_ERR_JIT, "the objects need more than 1 GiB of memory");
            }
        if ((c == 0 && !place(&at, STUB, nslots * STUB, &l->stubs)) ||
            (c == 1 && !place(&at, SLOT, nslots * SLOT, &l->got)) || !place(&at, page, 0, &where))
            return fail(l, TJ_ERR_JIT, "the objects need more than 1 GiB of memory");
    }
    l->part[NCLASS] = at;
    l->size = at ? at : page;
    return TJ_OK;
}

/* The address of a symbol defined in o (not SHN_UNDEF). */
static tj_status defined_addr(linker *l, const object *o, const Elf64_Sym *s, const char *name,
                              uint64_t *addr)
{
    unsigned type = ELF64_ST_TYPE(s->st_info);
    if (type == STT_TLS || type == STT_GNU_IFUNC)
        return fail(l, TJ_ERR_JIT, "object %d: symbol %s is thread-local or indirect", o->id,
                    name);
    if (s->st_shndx == SHN_ABS) {
        *addr = s->st_value;
        return TJ_OK;
    }
    if (s->st_shndx == SHN_COMMON)
        return fail(l, TJ_ERR_JIT, "object %d: symbol %s is a common symbol (not supported)",
                    o->id, name);
    if (s->st_shndx >= o->nsec) /* also every other special index */
        return fail(l, TJ_ERR_JIT, "object %d: symbol %s is in unknown section %u", o->id, name,
                    s->st_shndx);
    const section *sec = &o->sec[s->st_shndx];
    if (sec->cls < 0)
        return fail(l, TJ_ERR_JIT, "object %d: symbol %s is in section %s, which is not loaded",
                    o->id, name, sec_name(o, s->st_shndx));
    if (s->st_value > sec->h.sh_size)
        return fail(l, TJ_ERR_JIT, "object %d: symbol %s lies outside its section %s", o->id,
                    name, sec_name(o, s->st_shndx));
    *addr = (uint64_t)(uintptr_t)l->base + sec->off + s->st_value;
    return TJ_OK;
}

/* The definition of name among the objects' global symbols, a strong one before weak ones
 * (*found false when there is none); two strong ones are an error. */
static tj_status lookup(linker *l, const char *name, uint64_t *addr, bool *found)
{
    int strong = -1;
    *found = false;
    for (int k = 0; k < l->nobj; k++) {
        const object *o = &l->o[k];
        for (size_t i = o->first_global; i < o->nsym; i++) {
            Elf64_Sym s = read_sym(o, i);
            unsigned bind = ELF64_ST_BIND(s.st_info);
            const char *sn = string_at(o->str, o->strsize, s.st_name);
            if (s.st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK) || !sn ||
                strcmp(sn, name))
                continue;
            if (bind == STB_GLOBAL && strong >= 0)
                return fail(l, TJ_ERR_JIT, "symbol %s is defined in objects %d and %d", name,
                            strong, o->id);
            if (*found && bind == STB_WEAK)
                continue;
            tj_status st = defined_addr(l, o, &s, name, addr);
            if (st != TJ_OK)
                return st;
            *found = true;
            strong = bind == STB_GLOBAL ? o->id : -1;
        }
    }
    return TJ_OK;
}

/* The address of symbol i of o (i < nsym), resolved once. */
static tj_status sym_addr(linker *l, object *o, size_t i, uint64_t *addr)
{
    if (o->syms[i].state || i == 0) { /* symbol 0 is the null symbol: address 0 */
        *addr = o->syms[i].addr;
        return TJ_OK;
    }
    Elf64_Sym s = read_sym(o, i);
    const char *name = string_at(o->str, o->strsize, s.st_name);
    if (!name)
        return fail(l, TJ_ERR_JIT, "object %d: symbol %zu has a bad name", o->id, i);
    bool found = true;
    tj_status st = s.st_shndx != SHN_UNDEF ? defined_addr(l, o, &s, name, addr)
                                           : lookup(l, name, addr, &found);
    if (st != TJ_OK)
        return st;
    if (!found) {
        void *p = l->resolve && *name ? l->resolve(name) : NULL;
        if (!p && ELF64_ST_BIND(s.st_info) != STB_WEAK)
            return fail(l, TJ_ERR_JIT, "object %d: undefined symbol %s (the resolver does not "
                        "know it)", o->id, name);
        *addr = (uint64_t)(uintptr_t)p;
    }
    o->syms[i].state = found ? 1 : 2;
    o->syms[i].addr = *addr;
    return TJ_OK;
}

static bool fits_s32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* Applies the relocation section ri of o (RELA; REL is an error) if it is for a loaded section. */
static tj_status relocate(linker *l, object *o, unsigned ri)
{
    const Elf64_Shdr *rh = &o->sec[ri].h;
    if (rh->sh_info >= o->nsec || o->sec[rh->sh_info].cls < 0)
        return TJ_OK; /* for a section not loaded (.eh_frame, debug info) */
    const section *t = &o->sec[rh->sh_info];
    if (rh->sh_type != SHT_RELA || !o->symtab || rh->sh_link != o->symtab ||
        rh->sh_entsize != sizeof(Elf64_Rela) || rh->sh_size % sizeof(Elf64_Rela) ||
        t->h.sh_type == SHT_NOBITS)
        return fail(l, TJ_ERR_JIT, "object %d: bad or unsupported (SHT_REL) relocation section %s",
                    o->id, sec_name(o, ri));
    unsigned char *base = l->base + t->off;
    for (size_t k = 0; k < rh->sh_size / sizeof(Elf64_Rela); k++) {
        Elf64_Rela r;
        memcpy(&r, o->p + rh->sh_offset + k * sizeof r, sizeof r);
        uint32_t type = ELF64_R_TYPE(r.r_info);
        size_t si = ELF64_R_SYM(r.r_info);
        size_t width = type == R_X86_64_64 || type == R_X86_64_PC64 ? 8 : 4;
        if (type == R_X86_64_NONE)
            continue;
        if (si >= o->nsym || r.r_offset > t->h.sh_size || width > t->h.sh_size - r.r_offset)
            return fail(l, TJ_ERR_JIT, "object %d: relocation %zu of %s (type %u) names symbol "
                        "%zu or offset %#llx outside its range", o->id, k, sec_name(o, ri),
                        type, si, (unsigned long long)r.r_offset);
        uint64_t S, A = (uint64_t)r.r_addend, P = (uint64_t)(uintptr_t)(base + r.r_offset);
        tj_status st = sym_addr(l, o, si, &S);
        if (st != TJ_OK)
            return st;
        /* uint64_t arithmetic wraps; |A| < 2^63 and addresses < 2^47, so a true value outside
         * the 32-bit ranges never wraps into them */
        unsigned char *slot = l->base + l->got + (o->slot0 + si) * SLOT;
        int64_t v;
        bool ok;
        switch (type) {
        case R_X86_64_64:
        case R_X86_64_PC64:
            v = (int64_t)(S + A - (type == R_X86_64_PC64 ? P : 0));
            memcpy(base + r.r_offset, &v, 8);
            continue;
        case R_X86_64_32:
            v = (int64_t)(S + A);
            ok = (uint64_t)v <= UINT32_MAX;
            break;
        case R_X86_64_32S:
            v = (int64_t)(S + A);
            ok = fits_s32(v);
            break;
        case R_X86_64_PC32:
        case R_X86_64_PLT32:
            v = (int64_t)(S + A - P);
            if (!fits_s32(v) && o->syms[si].state == 2) { /* an external call too far: a stub */
                unsigned char *stub = l->base + l->stubs + (o->slot0 + si) * STUB;
                int32_t rel = (int32_t)(slot - (stub + 6)); /* inside one image < 1 GiB */
                memcpy(slot, &S, 8);
                memcpy(stub, "\xff\x25", 2);
                memcpy(stub + 2, &rel, 4);
                memcpy(stub + 6, "\xcc\xcc", 2);
                v = (int64_t)((uint64_t)(uintptr_t)stub + A - P);
            }
            ok = fits_s32(v);
            break;
        case R_X86_64_GOTPCREL:
        case R_X86_64_GOTPCRELX:
        case R_X86_64_REX_GOTPCRELX:
            memcpy(slot, &S, 8);
            v = (int64_t)((uint64_t)(uintptr_t)slot + A - P);
            ok = fits_s32(v);
            break;
        default:
            return fail(l, TJ_ERR_JIT, "object %d: relocation %zu of %s has unsupported type %u",
                        o->id, k, sec_name(o, ri), type);
        }
        if (!ok)
            return fail(l, TJ_ERR_JIT, "object %d: relocation %zu of %s (type %u, symbol %s) "
                        "does not fit in 32 bits", o->id, k, sec_name(o, ri), type,
                        sym_name(o, si));
        int32_t v32 = (int32_t)(uint32_t)v;
        memcpy(base + r.r_offset, &v32, 4);
    }
    return TJ_OK;
}

/* Copies the sections in, relocates, looks the requested symbols up and protects the pages. */
static tj_status link_image(linker *l, const char *const *syms, int n, void **addrs)
{
    tj_status st = TJ_OK;
    for (int k = 0; k < l->nobj; k++)
        for (unsigned i = 0; i < l->o[k].nsec; i++) {
            const section *s = &l->o[k].sec[i];
            if (s->cls >= 0 && s->h.sh_type != SHT_NOBITS) /* NOBITS: the mapping is zeroed */
                memcpy(l->base + s->off, l->o[k].p + s->h.sh_offset, s->h.sh_size);
        }
    for (int k = 0; k < l->nobj && st == TJ_OK; k++)
        for (unsigned i = 1; i < l->o[k].nsec && st == TJ_OK; i++)
            if (l->o[k].sec[i].h.sh_type == SHT_RELA || l->o[k].sec[i].h.sh_type == SHT_REL)
                st = relocate(l, &l->o[k], i);
    for (int i = 0; i < n && st == TJ_OK; i++) {
        uint64_t a;
        bool found;
        if (!syms[i])
            st = fail(l, TJ_ERR_INVALID, "tjJ_image_load: symbol name %d is NULL", i);
        else if ((st = lookup(l, syms[i], &a, &found)) == TJ_OK && !found)
            st = fail(l, TJ_ERR_JIT, "symbol %s is not defined by the objects", syms[i]);
        else if (st == TJ_OK)
            addrs[i] = (void *)(uintptr_t)a;
    }
    static const int prot[NCLASS] = {PROT_READ | PROT_EXEC, PROT_READ, PROT_READ | PROT_WRITE};
    for (int c = 0; c < NCLASS && st == TJ_OK; c++)
        if (l->part[c + 1] > l->part[c] &&
            mprotect(l->base + l->part[c], l->part[c + 1] - l->part[c], prot[c]) != 0)
            st = fail(l, TJ_ERR_JIT, "mprotect failed on the loaded code");
    return st;
}

tj_status tjJ_image_load(const tj_allocator *mem, const void *const *objs, const size_t *lens,
                         int nobj, tjJ_resolver resolve, const char *const *syms, int n,
                         void **addrs, tjJ_image **out, char *err, size_t errlen)
{
    linker l = {.mem = mem, .nobj = nobj, .resolve = resolve, .err = err, .errlen = errlen};
    if (out)
        *out = NULL;
    if (!out || !objs || !lens || nobj < 1 || n < 0 || (n > 0 && (!syms || !addrs)))
        return fail(&l, TJ_ERR_INVALID, "tjJ_image_load: NULL or negative argument");
    for (int i = 0; i < n; i++)
        addrs[i] = NULL;
    for (int k = 0; k < nobj; k++)
        if (!objs[k])
            return fail(&l, TJ_ERR_INVALID, "tjJ_image_load: object %d is NULL", k);
    tjJ_image *img = tjC_mem_calloc(mem, 1, sizeof *img);
    l.o = tjC_mem_calloc(mem, (size_t)nobj, sizeof *l.o);
    tj_status st = img && l.o ? TJ_OK : fail(&l, TJ_ERR_NOMEM, "out of memory loading objects");
    for (int k = 0; k < nobj && st == TJ_OK; k++) {
        l.o[k] = (object){.p = objs[k], .len = lens[k], .id = k};
        st = parse(&l, &l.o[k]);
    }
    if (st == TJ_OK)
        st = layout(&l);
    if (st == TJ_OK) {
        void *p = mmap(NULL, l.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        l.base = p == MAP_FAILED ? NULL : p;
        st = l.base ? link_image(&l, syms, n, addrs)
                    : fail(&l, TJ_ERR_NOMEM, "could not map %zu bytes for the code", l.size);
    }
    for (int k = 0; l.o && k < nobj; k++) {
        tjC_mem_free(mem, l.o[k].sec);
        tjC_mem_free(mem, l.o[k].syms);
    }
    tjC_mem_free(mem, l.o);
    if (st != TJ_OK) {
        if (l.base)
            munmap(l.base, l.size);
        tjC_mem_free(mem, img);
        for (int i = 0; i < n; i++)
            addrs[i] = NULL;
        return st;
    }
    img->hooked = mem != NULL;
    if (mem)
        img->mem = *mem;
    img->base = l.base;
    img->size = l.size;
    *out = img;
    return TJ_OK;
}

void tjJ_image_free(tjJ_image *img)
{
    if (!img)
        return;
    munmap(img->base, img->size);
    tj_allocator mem = img->mem; /* the image's own block goes back through it last */
    tjC_mem_free(img->hooked ? &mem : NULL, img);
}
