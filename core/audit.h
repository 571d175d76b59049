/* Tamper-evident audit log: an HMAC-SHA256 chain of JSON Lines records.

   File format. One record per line, each line written by a single write(2)
   and ended by '\n'. A record is a compact JSON object whose members are, in
   this order:

	{"v":1,"seq":N,"ts":"2026-11-25T17:44:38.123456Z","event":"NAME",
	 <event fields...>,"mac":"<64 lower-case hex digits>"}

   v is the format version (1); seq counts records from 1 and continues across
   rotated files; ts is the wall-clock time, RFC 3339 UTC with microseconds.
   mac is always the last member, so every line ends with exactly

	,"mac":"HHHH...HHHH"}		(8 + 64 + 2 = 74 bytes)

   The MAC input. Let L be the line without its '\n' and B ("the record's
   bytes without the mac") be L with those last 74 bytes replaced by "}"; B is
   byte for byte what the writer serialised before appending the mac. Then

	mac = lower-hex HMAC-SHA256(key, P || B)

   where P is the previous record's mac as its 64 hex characters, or the
   empty string for the first record of the chain (seq 1). The key is the 32
   bytes of <dir>/audit.key. Editing, deleting, inserting or reordering a
   record therefore breaks verification at that record.

   Rotation. When a record would take the file past max_bytes, the file is
   renamed <file>.1 (older ones shift: .1 -> .2 ... up to .keep; the oldest
   is dropped) and the new file starts with

	{"v":1,"seq":N,"ts":...,"event":"rotate","file":"<file>.1",
	 "prev_mac":"<mac of the last record of the previous file>","mac":...}

   whose own mac is chained on prev_mac like any record, so the chain and seq
   go on across files. A verifier given a first file that starts with a
   rotate record (older files aged out) anchors the chain at its prev_mac.

   Several writers. Any number of processes may append to one log: each
   record is written under an flock(2) of <file>.lock, after the writer
   has caught up with records and rotations the others made, so they all
   extend one chain.

   Limits. Only the key holder can forge records, but anyone who can write
   the file can cut records off its end undetectably; anchoring the last mac
   elsewhere is the remedy. A line cut short by a crash (no '\n' at the end
   of the newest file) is reported apart from tampering when it begins as
   the next record would, {"v":1,"seq":<next>,"ts":", or is zero bytes;
   audit_open removes it before appending. */
#ifndef CORRAL_AUDIT_H
#define CORRAL_AUDIT_H

#include <sys/types.h>

#include <cjson/cJSON.h>

#define AUDIT_KEY_LEN 32
#define AUDIT_MAC_HEX 64
/* Longest record the writer accepts, newline included. */
#define AUDIT_RECORD_MAX (1024 * 1024)

/* When records reach the disk. Zero is the safest. */
enum audit_fsync {
	AUDIT_FSYNC_ALWAYS = 0,	/* fsync after every record */
	AUDIT_FSYNC_BATCH,	/* at most one second late; see audit_tick */
	AUDIT_FSYNC_NEVER,	/* leave it to the kernel */
};

struct audit_opts {
	enum audit_fsync fsync;
	off_t max_bytes;	/* rotate beyond this size; 0 = never rotate */
	int keep;		/* rotated files kept (<file>.1 ..), at least 1 */
	const char *key_dir;	/* where audit.key is; NULL: beside the log */
};

struct audit;

/* The result of audit_verify. file points into the caller's files array. */
struct audit_report {
	int intact;		/* every complete record verifies */
	int torn;		/* the newest file ends in a cut-short record */
	int anchored;		/* chain starts at a rotate record's prev_mac */
	long long records;	/* complete records verified */
	long long first_seq, last_seq;
	char last_mac[AUDIT_MAC_HEX + 1];
	/* The first bad record when !intact, else the torn tail when torn. */
	const char *file;
	long line;		/* 1-based; 0 when about a whole file */
	char why[192];		/* "ok", "mac mismatch", "seq gap (expected
				   4 got 5)", "missing rotated file ...",
				   "not JSON", "truncated final record" ... */
};

/* Load <dir>/audit.key (32 bytes, 0600, ours) into key; when create is set
   and it is missing, make one from getrandom(). Returns 0, or -1 with *err
   set (caller frees). */
int audit_key_load(const char *dir, unsigned char key[AUDIT_KEY_LEN],
    int create, char **err);

/* Load the key file at path, with the same checks. For verifiers. */
int audit_key_read(const char *path, unsigned char key[AUDIT_KEY_LEN],
    char **err);

/* Open <dir>/<file> for appending (dir made 0700 if missing, file 0600),
   loading or creating the key and resuming seq and the chain from the last
   record. opts may be NULL for the defaults (fsync always, no rotation).
   Returns a writer the caller frees with audit_close, or NULL with *err set
   (caller frees). */
struct audit *audit_open(const char *dir, const char *file,
    const struct audit_opts *opts, char **err);

/* Append one record: event names it, fields (an object or NULL; borrowed)
   supplies its other members, which must not be v, seq, ts, event or mac.
   Rotates first when due. Returns 0, or -1 with *err set (caller frees) when
   the record could not be written in full (ENOSPC, EIO, short write, failed
   rotation); seq and the chain then stay where they were. A failed fsync
   under AUDIT_FSYNC_ALWAYS also returns -1, though the record was written. */
int audit_write(struct audit *, const char *event, const cJSON *fields,
    char **err);

/* Under AUDIT_FSYNC_BATCH, fsync when records are waiting and the last fsync
   is a second old by now (mono_now() seconds). Returns 1 when it synced, 0
   when nothing was due, -1 when fsync failed (errno set). */
int audit_tick(struct audit *, double now);

/* The last record's seq (0 before any) and mac ("" before any); borrowed. */
long long audit_seq(const struct audit *);
const char *audit_last_mac(const struct audit *);

/* Write to fd instead of the file from now on; takes the fd. For tests that
   need a failing target such as /dev/full. */
void audit_use_fd(struct audit *, int fd);

/* Flush under batch or always, close the file and free the writer. */
void audit_close(struct audit *);

/* Check files (oldest first, the newest last) as one chain with key.
   Returns 0 when every record verifies and the end is clean, 1 when every
   complete record verifies but the newest file ends in a truncated record,
   -1 on the first bad record or unreadable file; out says which and why. */
int audit_verify(const char *const *files, int nfiles,
    const unsigned char key[AUDIT_KEY_LEN], struct audit_report *out);

#endif
