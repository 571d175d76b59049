/* The libFuzzer entry points every harness defines (LLVMFuzzerInitialize
   is optional); replay.c calls them without libFuzzer. */
#ifndef CORRAL_FUZZ_H
#define CORRAL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int LLVMFuzzerInitialize(int *, char ***);

#endif
