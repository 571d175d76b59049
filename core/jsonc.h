/* JSON with comments, as VS Code writes it: // and block comments and
   trailing commas, blanked out so a strict parser can read the rest. */
#ifndef CORRAL_JSONC_H
#define CORRAL_JSONC_H

#include <stddef.h>

/* Overwrite the comments and trailing commas of p[0..n) with spaces, in
   place; line breaks inside block comments stay, so every other byte
   keeps its offset, line and column. Strings are left alone. Returns 0,
   or -1 with *off at an unterminated block comment. */
int jsonc_strip(char *p, size_t n, size_t *off);

#endif
