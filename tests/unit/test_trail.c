/* Unit tests for core/trail: what each capture mode keeps of the
   arguments, and that secrets are redacted from every string and key. */
#include <stdarg.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/trail.h"
#include "core/util.h"
#include "tests/unit/unit.h"

/* A trail writing to a log in a temporary state directory. */
static struct trail *
trail_for(struct config *cf, int capture)
{
	static char dir[64];

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/corral-trail-XXXXXX");
		if (mkdtemp(dir) == NULL)
			fail_msg("mkdtemp");
		setenv("XDG_STATE_HOME", dir, 1);
	}
	cf->audit_capture = capture;
	cf->audit_keep = 1;
	return trail_new(NULL, cf);
}

static void
check_json(const cJSON *j, const char *want)
{
	char *s = cJSON_PrintUnformatted(j);

	assert_string_equal(s, want);
	cJSON_free(s);
}

static void
test_capture_shape(void **state)
{
	struct config cf;
	struct trail *t;
	cJSON *args, *c;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	t = trail_for(&cf, CAPTURE_SHAPE);
	args = cJSON_Parse("{\"path\":\"/etc/passwd\",\"n\":3,\"deep\":"
	    "{\"ok\":true,\"none\":null,\"list\":[1,2,3],\"s\":\"\"}}");
	c = trail_capture(t, args);
	/* sha256 of {"deep":{"list":[1,2,3],"none":null,"ok":true,"s":""},
	   "n":3,"path":"/etc/passwd"} */
	check_json(cJSON_GetObjectItem(c, "shape"), "{\"path\":\"string(11)\","
	    "\"n\":\"number\",\"deep\":{\"ok\":\"boolean\",\"none\":\"null\","
	    "\"list\":\"array(3)\",\"s\":\"string(0)\"}}");
	assert_int_equal(strlen(cJSON_GetObjectItem(c, "sha256")->valuestring),
	    64);
	/* The same arguments in another order have the same hash. */
	{
		cJSON *a2 = cJSON_Parse("{\"n\":3,\"deep\":{\"s\":\"\",\"list\":"
		    "[1,2,3],\"none\":null,\"ok\":true},\"path\":"
		    "\"/etc/passwd\"}");
		cJSON *c2 = trail_capture(t, a2);

		assert_string_equal(cJSON_GetObjectItem(c, "sha256")->valuestring,
		    cJSON_GetObjectItem(c2, "sha256")->valuestring);
		cJSON_Delete(a2);
		cJSON_Delete(c2);
	}
	/* No values survive. */
	{
		char *txt = cJSON_PrintUnformatted(c);

		assert_null(strstr(txt, "passwd"));
		cJSON_free(txt);
	}
	cJSON_Delete(c);
	/* No arguments: the shape of {}. */
	c = trail_capture(t, NULL);
	check_json(cJSON_GetObjectItem(c, "shape"), "{}");
	/* SHA-256 of "{}". */
	assert_string_equal(cJSON_GetObjectItem(c, "sha256")->valuestring,
	    "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
	cJSON_Delete(c);
	cJSON_Delete(args);
	trail_free(t);
}

static void
test_capture_none_full(void **state)
{
	struct config cf;
	struct trail *t;
	cJSON *args = cJSON_Parse("{\"a\":[1,{\"b\":\"c\"}]}"), *c;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	t = trail_for(&cf, CAPTURE_NONE);
	assert_null(trail_capture(t, args));
	trail_free(t);
	t = trail_for(&cf, CAPTURE_FULL);
	c = trail_capture(t, args);
	check_json(c, "{\"a\":[1,{\"b\":\"c\"}]}");
	cJSON_Delete(c);
	c = trail_capture(t, NULL);
	check_json(c, "{}");
	cJSON_Delete(c);
	trail_free(t);
	cJSON_Delete(args);
}

static void
test_redact(void **state)
{
	char *secrets[] = { "s3cret", "s3cret-longer", "tok" };
	struct config cf;
	struct trail *t;
	cJSON *j;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	cf.secrets = secrets;
	cf.nsecrets = 3;
	t = trail_for(&cf, CAPTURE_FULL);
	j = cJSON_Parse("{\"argv\":[\"--key=s3cret\",\"s3cret-longer/x\","
	    "\"s3crets3cret\",\"plain\"],\"s3cret\":{\"tok\":\"atokb\"},"
	    "\"n\":1}");
	trail_redact(t, j);
	/* The longest secret wins where two start at the same place; keys
	   are scrubbed too; numbers are left alone. */
	check_json(j, "{\"argv\":[\"--key=[redacted]\",\"[redacted]/x\","
	    "\"[redacted][redacted]\",\"plain\"],\"[redacted]\":{"
	    "\"[redacted]\":\"a[redacted]b\"},\"n\":1}");
	cJSON_Delete(j);
	/* A value longer after redaction than before is fine too. */
	j = cJSON_CreateString("tok");
	trail_redact(t, j);
	check_json(j, "\"[redacted]\"");
	cJSON_Delete(j);
	trail_free(t);
}

/* With the log off nothing is kept, so nothing is computed. */
static void
test_capture_off(void **state)
{
	struct config cf;
	struct trail *t;
	cJSON *args = cJSON_Parse("{\"a\":1}");

	(void)state;
	memset(&cf, 0, sizeof(cf));
	cf.audit_off = 1;
	t = trail_new(NULL, &cf);
	assert_null(trail_capture(t, args));
	trail_free(t);
	cJSON_Delete(args);
}

static void
test_session_id(void **state)
{
	struct config cf;
	struct trail *t, *u;
	const char *s;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	t = trail_for(&cf, CAPTURE_SHAPE);
	u = trail_for(&cf, CAPTURE_SHAPE);
	s = trail_session(t);
	assert_int_equal(strlen(s), 16);
	assert_int_equal(strspn(s, "0123456789abcdef"), 16);
	assert_string_not_equal(s, trail_session(u));
	trail_free(t);
	trail_free(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_shape),
		cmocka_unit_test(test_capture_none_full),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_capture_off),
		cmocka_unit_test(test_session_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
