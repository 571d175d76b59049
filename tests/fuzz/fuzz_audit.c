/* fuzz_audit: audit_verify on any log text.

   Input: one selector byte, then the log. Selector bit 0 set: the harness
   first recomputes the mac of every line that ends like a record
   (,"mac":"<64>"}) with the fixed key, chaining from the line before (or
   from a first line's prev_mac), so that the checks past the mac are
   reached; bit 1 set: the log is cut in two "rotated" files at the line
   break nearest its middle, verified as <file>.1 then <file>. The key is
   32 bytes of 0x42 (tests/fuzz/mkaudit.sh makes seeds with it). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/audit.h"
#include "core/util.h"
#include "tests/fuzz/fuzz.h"

static unsigned char key[AUDIT_KEY_LEN];
static char dir[128], f0[160], f1[160];

static void
cleanup(void)
{
	unlink(f0);
	unlink(f1);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memset(key, 0x42, sizeof(key));
	snprintf(dir, sizeof(dir), "%s/corral-fuzz-audit-%d",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
	mkdir(dir, 0700);
	atexit(cleanup);
	snprintf(f0, sizeof(f0), "%s/audit.jsonl.1", dir);
	snprintf(f1, sizeof(f1), "%s/audit.jsonl", dir);
	return 0;
}

static void
put(const char *path, const char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n)) {
		perror(path);
		abort();
	}
	close(fd);
}

static const char tailpat[] = ",\"mac\":\"";

static void
remac(char *p, size_t n)
{
	char prev[AUDIT_MAC_HEX + 1] = "", *l = p, *nl, *pm;
	unsigned char md[EVP_MAX_MD_SIZE], *msg;
	unsigned int mdlen, i;
	int first = 1;

	while (l < p + n) {
		size_t len, plen;

		nl = memchr(l, '\n', p + n - l);
		len = (nl ? nl : p + n) - l;
		if (len >= 74 && memcmp(l + len - 74, tailpat, 8) == 0 &&
		    l[len - 2] == '"' && l[len - 1] == '}') {
			if (first && (pm = memmem(l, len - 74, "\"prev_mac\":\"",
			    12)) && pm + 12 + 64 <= l + len - 74) {
				memcpy(prev, pm + 12, 64);
				prev[64] = '\0';
			}
			plen = strlen(prev);
			msg = xmalloc(plen + len - 73);
			memcpy(msg, prev, plen);
			memcpy(msg + plen, l, len - 74);
			msg[plen + len - 74] = '}';
			HMAC(EVP_sha256(), key, sizeof(key), msg, plen + len - 73,
			    md, &mdlen);
			free(msg);
			for (i = 0; i < 32; i++)
				snprintf(prev + 2 * i, 3, "%02x", md[i]);
			memcpy(l + len - 66, prev, 64);
		}
		first = 0;
		l = nl ? nl + 1 : p + n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_report r;
	const char *files[2];
	char *p;
	size_t n, cut;
	int rc;

	if (size < 1)
		return 0;
	if (dir[0] == '\0')
		LLVMFuzzerInitialize(NULL, NULL);
	n = size - 1;
	p = xmalloc(n ? n : 1);
	memcpy(p, data + 1, n);
	if (data[0] & 1)
		remac(p, n);
	if (data[0] & 2) {
		const char *a, *b;

		/* The line break nearest the middle, else no cut. */
		a = memrchr(p, '\n', n / 2);
		b = memchr(p + n / 2, '\n', n - n / 2);
		cut = a ? (size_t)(a - p) + 1 : b ? (size_t)(b - p) + 1 : 0;
		if (b && (!a || (size_t)(b - p) - n / 2 < n / 2 -
		    (size_t)(a - p)))
			cut = (size_t)(b - p) + 1;
		put(f0, p, cut);
		put(f1, p + cut, n - cut);
		files[0] = f0;
		files[1] = f1;
		rc = audit_verify(files, 2, key, &r);
	} else {
		put(f1, p, n);
		files[0] = f1;
		rc = audit_verify(files, 1, key, &r);
	}
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "audit_verify: rc %d records %lld line %ld: %s\n",
		    rc, r.records, r.line, r.why);
	if (rc < -1 || rc > 1 || memchr(r.why, '\0', sizeof(r.why)) == NULL ||
	    (rc == 0 && !r.intact) || (rc == -1 && r.intact) ||
	    (rc == 1 && !r.torn)) {
		fprintf(stderr, "fuzz_audit: inconsistent report: rc %d "
		    "intact %d torn %d why %s\n", rc, r.intact, r.torn, r.why);
		abort();
	}
	free(p);
	return 0;
}
