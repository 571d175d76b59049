/* What `corral status` shows of a running broker: one JSON document built
   from the broker's state. */
#ifndef CORRAL_STATUS_H
#define CORRAL_STATUS_H

#include <cjson/cJSON.h>

struct broker;

/* The status document of b (borrowed); caller frees with cJSON_Delete. */
cJSON *status_document(struct broker *b);

#endif
