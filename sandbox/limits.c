/* Resource limits and capabilities of the server process. */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <linux/capability.h>
#include <linux/securebits.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/sb.h"

#define KIB 1024ULL
#define GIB (1024ULL * 1024 * 1024)

void
sb_limits_init(struct sb_limit *l, const struct sandbox_conf *c)
{
	/* Never RLIMIT_AS: V8 and the JVM reserve huge virtual ranges. NPROC
	   is counted per user namespace, so it bounds this sandbox only. */
	static const struct sb_limit def[SB_NLIMITS] = {
		{ RLIMIT_NOFILE, "nofile", 4096 },
		{ RLIMIT_NPROC, "nproc", 512 },
		{ RLIMIT_CORE, "core", 0 },	/* cores hold secrets */
		{ RLIMIT_DATA, "data", 4 * GIB },
		{ RLIMIT_FSIZE, "fsize", 4 * GIB },
		{ RLIMIT_MEMLOCK, "memlock", 64 * KIB },
	};
	const double set[SB_NLIMITS] = { c->nofile, c->nproc, 0, c->data,
	    c->fsize, c->memlock };
	int i;

	memcpy(l, def, sizeof(def));
	for (i = 0; i < SB_NLIMITS; i++)
		if (set[i] > 0)
			l[i].value = (unsigned long long)set[i];
}

int
sb_limits_apply(const struct sb_limit *l, const char **which)
{
	struct rlimit r, cur;
	int i;

	for (i = 0; i < SB_NLIMITS; i++) {
		r.rlim_cur = r.rlim_max = l[i].value;
		/* Raising a hard limit takes a privilege the sandbox lacks:
		   stay within the one we have. */
		if (getrlimit(l[i].resource, &cur) == 0 &&
		    cur.rlim_max != RLIM_INFINITY && r.rlim_max > cur.rlim_max)
			r.rlim_cur = r.rlim_max = cur.rlim_max;
		if (setrlimit(l[i].resource, &r) < 0) {
			*which = l[i].name;
			return -1;
		}
	}
	return 0;
}

int
sb_caps_drop(int keep_setid)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int c, have = 1;

	memset(d, 0, sizeof(d));
	/* Lock the root-related bits first: that takes CAP_SETPCAP, which
	   the calls below take away. Without it (degraded mode as a normal
	   user) there is nothing to lock and nothing to drop but the
	   bounding set, and no_new_privs keeps it from being used. */
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
	    SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
	    SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED) < 0) {
		if (errno != EPERM)
			return -1;
		have = 0;
	}
	for (c = 0; have && c < 64; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return -1;
	/* Degraded mode as root keeps what it takes to become SB_NOBODY;
	   that change of uid then clears the rest. */
	if (keep_setid && have) {
		d[0].permitted = d[0].effective = (1U << CAP_SETUID) |
		    (1U << CAP_SETGID);
	}
	return syscall(SYS_capset, &h, d) < 0 ? -1 : 0;
}
