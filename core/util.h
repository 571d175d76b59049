/* Small helpers used everywhere: allocation that cannot fail, logging. */
#ifndef CORRAL_UTIL_H
#define CORRAL_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

extern const char *progname;

/* Allocation that aborts on out-of-memory; caller owns the result. */
void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));

/* Whether path is dir itself or below it (plain text, not resolved). */
int path_under(const char *path, const char *dir);

/* Diagnostics on stderr, prefixed "corral: ". */
void logmsg(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Print and exit(1); only for broken invariants and out-of-memory. */
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Seconds on a monotonic clock. */
double mono_now(void);
/* Set O_NONBLOCK and FD_CLOEXEC as asked; returns 0 or -1. */
int fd_nonblock(int);
int fd_cloexec(int);
/* Match a shell-style glob (*, ?, [..]) against a whole string. */
int glob_match(const char *pattern, const char *s);
/* 64-bit FNV-1a of n bytes. */
uint64_t fnv1a64(const void *, size_t);

#endif
