/* Replay fuzz inputs without libFuzzer, for make check: each argument is
   a file, or a directory whose files are all replayed (sorted by name).
   LLVMFuzzerInitialize runs first. A crash or abort ends the run with the
   input named on stderr beforehand; otherwise prints how many ran. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "tests/fuzz/fuzz.h"

/* Under ASan, look for leaks after every input, to name the one that
   leaked (at exit the report could not say). */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LEAK_CHECK() __lsan_do_recoverable_leak_check()
#else
#define LEAK_CHECK() 0
#endif

static int leaky;

__attribute__((weak)) int LLVMFuzzerInitialize(int *, char ***);

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *d = NULL;
	size_t n = 0, cap = 0, k;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			d = xrealloc(d, cap);
		}
		k = fread(d + n, 1, cap - n, f);
		if (k == 0)
			break;
		n += k;
	}
	fclose(f);
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
	/* An exact copy, so reads past the end are caught. */
	{
		unsigned char *e = xmalloc(n ? n : 1);

		memcpy(e, d, n);
		free(d);
		LLVMFuzzerTestOneInput(e, n);
		free(e);
	}
	/* Once memory leaked, every later check would report it again. */
	if (!leaky && LEAK_CHECK()) {
		fprintf(stderr, "replay: %s leaked (report above)\n", path);
		leaky++;
	}
	return 0;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int
main(int argc, char **argv)
{
	struct stat st;
	struct dirent **ents;
	int i, j, k, count = 0, bad = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			bad++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad += run_file(argv[i]) < 0;
			count++;
			continue;
		}
		if ((k = scandir(argv[i], &ents, NULL, by_name)) < 0) {
			perror(argv[i]);
			bad++;
			continue;
		}
		for (j = 0; j < k; j++) {
			char *p = xasprintf("%s/%s", argv[i], ents[j]->d_name);

			if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
				bad += run_file(p) < 0;
				count++;
			}
			free(p);
			free(ents[j]);
		}
		free(ents);
	}
	printf("replayed %d input%s%s", count, count == 1 ? "" : "s",
	    bad ? ", some unreadable" : "");
	if (leaky)
		printf(", a leak (first after the input named on stderr)");
	printf("\n");
	fflush(stdout);
	return bad || leaky ? 1 : 0;
}
