/*
 * tasker — 2025-11-25 tasks.  Tool "job" called with params.task returns
 * a task that completes 200 ms later (announced with
 * notifications/tasks/status); without params.task it answers at once.
 * Serves tasks/get, tasks/result (blocks until done), tasks/list and
 * tasks/cancel.
 */
#include "tests/servers/fakelib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAMP "2025-01-01T00:00:00Z"

struct task {
	char id[32];
	const char *status;
	cJSON *waiters;		/* ids of tasks/result requests */
	struct task *next;
};

static struct task *tasks, **tasks_tail = &tasks;
static int ntasks;

static cJSON *
task_json(const struct task *t)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "taskId", t->id);
	cJSON_AddStringToObject(j, "status", t->status);
	cJSON_AddStringToObject(j, "createdAt", STAMP);
	cJSON_AddStringToObject(j, "lastUpdatedAt", STAMP);
	cJSON_AddNumberToObject(j, "ttl", 60000);
	return j;
}

static struct task *
task_find(const cJSON *params)
{
	const char *id = fake_str(params, "taskId");
	struct task *t;

	for (t = tasks; id != NULL && t != NULL; t = t->next)
		if (strcmp(t->id, id) == 0)
			return t;
	return NULL;
}

static void
send_outcome(const cJSON *id, const struct task *t)
{
	cJSON *r, *meta, *related;

	if (strcmp(t->status, "completed") != 0) {
		fake_error(id, -32603, "Task was cancelled", NULL);
		return;
	}
	r = fake_text("job done");
	meta = cJSON_AddObjectToObject(r, "_meta");
	related = cJSON_AddObjectToObject(meta,
	    "io.modelcontextprotocol/related-task");
	cJSON_AddStringToObject(related, "taskId", t->id);
	fake_result(id, r);
}

/* The task reached a terminal status: answer everyone waiting on it. */
static void
release_waiters(struct task *t)
{
	const cJSON *id;

	cJSON_ArrayForEach(id, t->waiters)
		send_outcome(id, t);
	cJSON_Delete(t->waiters);
	t->waiters = cJSON_CreateArray();
}

static void
task_complete(void *arg)
{
	struct task *t = arg;

	if (strcmp(t->status, "working") != 0)
		return;
	t->status = "completed";
	fake_notify("notifications/tasks/status", task_json(t));
	release_waiters(t);
}

static void
tool_job(const cJSON *id, const cJSON *params, const cJSON *args)
{
	cJSON *r;
	struct task *t;

	(void)args;
	if (!cJSON_HasObjectItem(params, "task")) {
		fake_result(id, fake_text("job done"));
		return;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		abort();
	snprintf(t->id, sizeof(t->id), "task-%d", ++ntasks);
	t->status = "working";
	t->waiters = cJSON_CreateArray();
	*tasks_tail = t;
	tasks_tail = &t->next;
	r = cJSON_CreateObject();
	cJSON_AddItemToObject(r, "task", task_json(t));
	fake_result(id, r);
	fake_timer(200, task_complete, t, NULL);
}

static void
tasks_get(const cJSON *id, const cJSON *params)
{
	struct task *t = task_find(params);

	if (t == NULL)
		fake_error(id, -32602, "Unknown task", NULL);
	else
		fake_result(id, task_json(t));
}

static void
tasks_result(const cJSON *id, const cJSON *params)
{
	struct task *t = task_find(params);

	if (t == NULL)
		fake_error(id, -32602, "Unknown task", NULL);
	else if (strcmp(t->status, "working") == 0)
		cJSON_AddItemToArray(t->waiters, cJSON_Duplicate(id, 1));
	else
		send_outcome(id, t);
}

static void
tasks_list(const cJSON *id, const cJSON *params)
{
	cJSON *r = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(r, "tasks");
	struct task *t;

	(void)params;
	for (t = tasks; t != NULL; t = t->next)
		cJSON_AddItemToArray(arr, task_json(t));
	fake_result(id, r);
}

static void
tasks_cancel(const cJSON *id, const cJSON *params)
{
	struct task *t = task_find(params);

	if (t == NULL) {
		fake_error(id, -32602, "Unknown task", NULL);
		return;
	}
	if (strcmp(t->status, "working") != 0) {
		fake_error(id, -32602,
		    "Cannot cancel task: already in terminal status", NULL);
		return;
	}
	t->status = "cancelled";
	fake_result(id, task_json(t));
	release_waiters(t);
}

static void
free_tasks(void)
{
	struct task *t;

	while ((t = tasks) != NULL) {
		tasks = t->next;
		cJSON_Delete(t->waiters);
		free(t);
	}
}

int
main(int argc, char **argv)
{
	cJSON *job;
	int status;

	fake_init(argc, argv, "tasker", NULL);
	fake_set_caps(fake_json("{\"tools\":{},\"tasks\":{\"list\":{},"
	    "\"cancel\":{},\"requests\":{\"tools\":{\"call\":{}}}}}"));
	job = fake_add_tool("job", "A job that may run as a task", NULL,
	    tool_job);
	cJSON_AddItemToObject(job, "execution",
	    fake_json("{\"taskSupport\":\"optional\"}"));
	fake_on("tasks/get", tasks_get);
	fake_on("tasks/result", tasks_result);
	fake_on("tasks/list", tasks_list);
	fake_on("tasks/cancel", tasks_cancel);
	status = fake_run();
	free_tasks();
	return status;
}
