/* corral's state directory and its small files. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/state.h"
#include "core/util.h"

#define STATE_FILE_MAX (16 * 1024 * 1024)

/* Make each missing directory of path (absolute) with mode. */
static int
mkdirs(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *s;
	int r = 0;

	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, c ? 0755 : mode) < 0 && errno != EEXIST) {
				r = -1;
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return r;
}

/* dir (taken) if it is safe: it holds keys and decisions, so ours,
   private, not a symlink. NULL with *err otherwise. */
static char *
private_dir(char *dir, char **err)
{
	struct stat st;

	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid()) {
		*err = xasprintf("%s: not a directory owned by you", dir);
		free(dir);
		return NULL;
	}
	if (st.st_mode & 077)
		chmod(dir, 0700);
	return dir;
}

char *
state_dir(char **err)
{
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *dir;

	if (x && x[0] == '/')
		dir = xasprintf("%s/corral", x);
	else if (home && home[0] == '/')
		dir = xasprintf("%s/.local/state/corral", home);
	else {
		*err = xstrdup("neither XDG_STATE_HOME nor HOME is set");
		return NULL;
	}
	if (mkdirs(dir, 0700) < 0) {
		*err = xasprintf("%s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return private_dir(dir, err);
}

char *
state_subdir(const char *name, char **err)
{
	char *dir, *sub;

	if ((dir = state_dir(err)) == NULL)
		return NULL;
	sub = xasprintf("%s/%s", dir, name);
	free(dir);
	if (mkdir(sub, 0700) < 0 && errno != EEXIST) {
		*err = xasprintf("%s: %s", sub, strerror(errno));
		free(sub);
		return NULL;
	}
	return private_dir(sub, err);
}

/* Refuse a secret file that others could read or that is not ours. */
static int
private_file(int fd, const char *path, char **err)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*err = xasprintf("%s: not a regular file", path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		*err = xasprintf("%s: refusing a file owned by another user "
		    "(uid %u)", path, (unsigned)st.st_uid);
		return -1;
	}
	if (st.st_mode & 077) {
		*err = xasprintf("%s: refusing a file that group or others can "
		    "read or write (chmod 600 %s)", path, path);
		return -1;
	}
	return 0;
}

static int
read_file(const char *name, int secret, char **text, size_t *len,
    char **err)
{
	char *dir, *path;
	struct buf b;
	ssize_t n;
	int fd;

	*text = NULL;
	if ((dir = state_dir(err)) == NULL)
		return -1;
	path = xasprintf("%s/%s", dir, name);
	free(dir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			free(path);
			return 0;
		}
		*err = xasprintf("%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (secret && private_file(fd, path, err) < 0) {
		close(fd);
		free(path);
		return -1;
	}
	buf_init(&b, STATE_FILE_MAX);
	for (;;) {
		char *dst = buf_reserve(&b, 65536);

		if (dst == NULL) {
			*err = xasprintf("%s: too large", path);
			break;
		}
		n = read(fd, dst, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err = xasprintf("%s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		buf_commit(&b, n);
	}
	close(fd);
	free(path);
	if (*err) {
		buf_free(&b);
		return -1;
	}
	*text = buf_steal(&b, len);
	return 1;
}

int
state_read(const char *name, char **text, size_t *len, char **err)
{
	return read_file(name, 0, text, len, err);
}

int
state_read_secret(const char *name, char **text, size_t *len, char **err)
{
	return read_file(name, 1, text, len, err);
}

int
state_write(const char *name, const char *text, size_t len, char **err)
{
	char *dir, *path, *tmp;
	const char *slash = strrchr(name, '/');
	size_t off = 0;
	ssize_t n;
	int fd, r = -1;

	if ((dir = state_dir(err)) == NULL)
		return -1;
	path = xasprintf("%s/%s", dir, name);
	/* The temporary file sits next to the file it replaces. */
	if (slash)
		tmp = xasprintf("%s/%.*s/.%s.%ld", dir, (int)(slash - name),
		    name, slash + 1, (long)getpid());
	else
		tmp = xasprintf("%s/.%s.%ld", dir, name, (long)getpid());
	free(dir);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		*err = xasprintf("%s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err = xasprintf("%s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			goto out;
		}
		off += n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		*err = xasprintf("%s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	r = 0;
out:
	free(path);
	free(tmp);
	return r;
}

int
state_keep_aside(const char *name)
{
	char *dir, *err = NULL, *from, *to;
	int r;

	if ((dir = state_dir(&err)) == NULL) {
		free(err);
		return -1;
	}
	from = xasprintf("%s/%s", dir, name);
	to = xasprintf("%s/%s.corrupt", dir, name);
	r = rename(from, to);
	free(from);
	free(to);
	free(dir);
	return r;
}
