/* Pins: a hash of every tool definition and of each server's
   instructions, trusted on first use and never silently re-trusted. */
#ifndef CORRAL_PINS_H
#define CORRAL_PINS_H

#include <cjson/cJSON.h>

enum pin_status { PIN_SAME = 0, PIN_NEW, PIN_CHANGED };

struct pinstore {
	cJSON *root;		/* {"servers":{alias:{"server":{..},"tools":{..}}}} */
	int corrupt;		/* unreadable: everything counts as changed */
	char *why;		/* what was wrong with it */
	int dirty;
	cJSON *pending;		/* [alias, name or null, entry] not yet saved */
};

/* Load pins.json from the state directory. A missing file is empty; an
   unreadable or corrupt one sets corrupt (and a message in why). */
void pins_load(struct pinstore *);
/* Write it back when changed, applying this run's changes to what is on
   disk now (another corral may have written since); never over a corrupt
   file unless force, which writes this store as it is. */
int pins_save(struct pinstore *, int force, char **err);
void pins_free(struct pinstore *);
/* The pinned part of a tool definition; caller deletes. */
cJSON *pins_tool_def(const cJSON *tool);
/* The pinned part of a server: instructions and prompt descriptions. */
cJSON *pins_server_def(const char *instructions, const cJSON *prompts);
/* Compare def (hash h) with what is pinned for alias/name (name NULL:
   the server itself). A new one is pinned (trust on first use). */
enum pin_status pins_check(struct pinstore *, const char *alias,
    const char *name, const cJSON *def, const char *h);
/* Pin def as the accepted definition. */
void pins_accept(struct pinstore *, const char *alias, const char *name,
    const cJSON *def, const char *h);
/* The pinned entry ({"hash","def","since"}) or NULL (borrowed). */
const cJSON *pins_get(const struct pinstore *, const char *alias,
    const char *name);

#endif
