/*
 * janus.plugin.roomrec: records the peers of a Janus server with roomrec.
 *
 * A publisher attaches, sends {"request":"join","token":JWT} with its JSEP
 * offer, and gets a recvonly answer. {"request":"pause"} / {"request":"resume"}
 * pause and resume its recording ({"mline": N}: only the track of m-line N);
 * what it sends meanwhile is not recorded. Once its PeerConnection is up, every RTP
 * and RTCP packet Janus hands over (already decrypted) and every data-channel
 * message is given to a roomrec session, with track start/stop rows from the
 * negotiated m-lines; leave, hang-up, ICE failure and a vanished client (Janus
 * session timeout) end the session with a leave row, and the recorder uploads
 * its chunks. The recorder (store, upload, hooks) is configured in
 * janus.plugin.roomrec.jcfg, see the sample beside this file.
 *
 * Threads. incoming_rtp/rtcp/data run on the handle's Janus loop thread: they
 * take only the session's own mutex and call roomrec's O(1) session calls.
 * Requests are handled on the plugin's message thread; leaving (which closes
 * and hands over the last chunk) runs there too, never on a Janus thread. A
 * housekeeping thread ticks sessions that received nothing for a second, so
 * idle chunks close on time.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "debug.h"
#include "mutex.h"
#include "plugins/plugin.h"
#include "refcount.h"
#include "rtp.h"
#include "sdp-utils.h"
#include "utils.h"

#include <roomrec.h>

#include "roomrec_token.h"

#define RR_VERSION 1
#define RR_VERSION_STRING "0.1.0"
#define RR_DESCRIPTION "Records each publisher's raw RTP, RTCP and data channels with roomrec (no transcoding)."
#define RR_NAME "roomrec recorder"
#define RR_AUTHOR "roomrec"
#define RR_PACKAGE "janus.plugin.roomrec"

#define RR_MAX_MLINES 16
#define RR_MAX_EXTENSIONS 16

/* Error codes of error events ({"roomrec":"event","error_code":N,"error":"..."}). */
#define RR_ERROR_NO_MESSAGE 440
#define RR_ERROR_INVALID_JSON 441
#define RR_ERROR_INVALID_REQUEST 442
#define RR_ERROR_MISSING_ELEMENT 443
#define RR_ERROR_INVALID_ELEMENT 444
#define RR_ERROR_UNAUTHORIZED 445
#define RR_ERROR_INVALID_SDP 446
#define RR_ERROR_ALREADY_JOINED 447
#define RR_ERROR_NOT_JOINED 448
#define RR_ERROR_RECORDER 449

/* ---- plugin callbacks (declared for the descriptor below) ----------------- */

static int rr_init(janus_callbacks *callback, const char *config_path);
static void rr_destroy(void);
static int rr_get_api_compatibility(void) { return JANUS_PLUGIN_API_VERSION; }
static int rr_get_version(void) { return RR_VERSION; }
static const char *rr_get_version_string(void) { return RR_VERSION_STRING; }
static const char *rr_get_description(void) { return RR_DESCRIPTION; }
static const char *rr_get_name(void) { return RR_NAME; }
static const char *rr_get_author(void) { return RR_AUTHOR; }
static const char *rr_get_package(void) { return RR_PACKAGE; }
static void rr_create_session(janus_plugin_session *handle, int *error);
static struct janus_plugin_result *rr_handle_message(janus_plugin_session *handle, char *transaction,
		json_t *message, json_t *jsep);
static void rr_setup_media(janus_plugin_session *handle);
static void rr_incoming_rtp(janus_plugin_session *handle, janus_plugin_rtp *packet);
static void rr_incoming_rtcp(janus_plugin_session *handle, janus_plugin_rtcp *packet);
static void rr_incoming_data(janus_plugin_session *handle, janus_plugin_data *packet);
static void rr_hangup_media(janus_plugin_session *handle);
static void rr_destroy_session(janus_plugin_session *handle, int *error);
static json_t *rr_query_session(janus_plugin_session *handle);

static janus_plugin rr_plugin = {
	.init = rr_init,
	.destroy = rr_destroy,
	.get_api_compatibility = rr_get_api_compatibility,
	.get_version = rr_get_version,
	.get_version_string = rr_get_version_string,
	.get_description = rr_get_description,
	.get_name = rr_get_name,
	.get_author = rr_get_author,
	.get_package = rr_get_package,
	.create_session = rr_create_session,
	.handle_message = rr_handle_message,
	.setup_media = rr_setup_media,
	.incoming_rtp = rr_incoming_rtp,
	.incoming_rtcp = rr_incoming_rtcp,
	.incoming_data = rr_incoming_data,
	.hangup_media = rr_hangup_media,
	.destroy_session = rr_destroy_session,
	.query_session = rr_query_session,
};

janus_plugin *create(void);
janus_plugin *create(void) {
	return &rr_plugin;
}

/* ---- state ------------------------------------------------------------------ */

typedef struct rr_track {
	gboolean used;         /* an audio/video m-line we answered */
	gboolean video;
	uint32_t track_id;     /* mindex + 1 */
	char name[32];
	char codec[16];
	uint32_t clock_rate;
	uint32_t channels;
	char fmtp[256];
	uint32_t ssrc;
	int cvo_id;
	int nexts;             /* the answer's a=extmap lines: id and URI */
	struct { int id; char uri[128]; } exts[RR_MAX_EXTENSIONS];
	gint64 last_pli_us;    /* monotonic, for the PLI rate limit */
} rr_track;

typedef struct rr_session {
	janus_plugin_session *handle;
	janus_mutex mutex;            /* rec, tracks, media flags; per session, never global */
	roomrec_session *rec;         /* open while recording */
	gboolean joined;              /* answered a join */
	gboolean record;              /* the token's record claim */
	char app[RR_TOKEN_MAX_FIELD], room[RR_TOKEN_MAX_FIELD], peer[RR_TOKEN_MAX_FIELD];
	guint64 session_id;
	char user_agent[128];
	rr_track tracks[RR_MAX_MLINES];
	gint64 last_media_us;         /* monotonic time of the last packet (housekeeping) */
	/* Counters, read by query_session. */
	guint64 rtp_packets, rtcp_packets, data_messages, refused, plis;
	guint64 incoming_calls;
	gint64 incoming_us_total, incoming_us_max;
	volatile gint hangingup;
	volatile gint destroyed;
	janus_refcount ref;
} rr_session;

typedef enum rr_job_type { RR_JOB_MESSAGE, RR_JOB_END_RECORDING, RR_JOB_EXIT } rr_job_type;

typedef struct rr_job {
	rr_job_type type;
	rr_session *session;          /* a reference held by the job */
	char *transaction;
	json_t *message, *jsep;
	roomrec_session *rec;         /* RR_JOB_END_RECORDING: detached from the session */
	uint32_t tracks;              /* ... its started tracks, bit i for track id i + 1 */
	gboolean leave;               /* write a leave row (else close without one) */
	guint64 now_ms;
} rr_job;

static janus_callbacks *gateway = NULL;
static volatile gint initialized = 0, stopping = 0;
static GHashTable *sessions = NULL;   /* janus_plugin_session* -> rr_session* */
static janus_mutex sessions_mutex = JANUS_MUTEX_INITIALIZER;
static GAsyncQueue *jobs = NULL;
static GThread *handler_thread = NULL, *housekeeping_thread = NULL;
static roomrec_recorder *recorder = NULL;
static rr_app_secret *apps = NULL;
static size_t napps = 0;
static gint64 pli_interval_us = 1000000;
static gint64 token_leeway_s = 0;
static guint64 shutdown_timeout_ms = 10000;
static gboolean notify_events = TRUE;
static GMutex housekeeping_mutex;
static GCond housekeeping_cond;

static guint64 now_ms(void) {
	return (guint64)(janus_get_real_time() / 1000);
}

/* ---- sessions ----------------------------------------------------------------- */

static void rr_session_free(const janus_refcount *ref) {
	rr_session *s = janus_refcount_containerof(ref, rr_session, ref);
	janus_mutex_destroy(&s->mutex);
	g_free(s);
}

static void rr_session_unref(gpointer p) {
	janus_refcount_decrease(&((rr_session *)p)->ref);
}

/* Finds a live session of a handle and takes a reference; NULL if gone. */
static rr_session *rr_lookup(janus_plugin_session *handle) {
	janus_mutex_lock(&sessions_mutex);
	rr_session *s = g_hash_table_lookup(sessions, handle);
	if(s && g_atomic_int_get(&s->destroyed))
		s = NULL;
	if(s)
		janus_refcount_increase(&s->ref);
	janus_mutex_unlock(&sessions_mutex);
	return s;
}

static void rr_job_free(rr_job *job) {
	if(job->session)
		janus_refcount_decrease(&job->session->ref);
	g_free(job->transaction);
	if(job->message)
		json_decref(job->message);
	if(job->jsep)
		json_decref(job->jsep);
	g_free(job);
}

/* Detaches the session's roomrec session (under its mutex) and hands it to
 * the message thread, which writes the track-stop and leave rows and closes
 * the chunk, so no Janus thread waits for the store. FALSE if it was not
 * recording. */
static gboolean rr_end_recording(rr_session *s, gboolean leave) {
	janus_mutex_lock(&s->mutex);
	roomrec_session *rec = s->rec;
	s->rec = NULL;
	if(rec != NULL)
		roomrec_session_set_user_data(rec, NULL); /* detached: it may outlive s */
	uint32_t tracks = 0;
	for(int i = 0; i < RR_MAX_MLINES; i++)
		if(s->tracks[i].used)
			tracks |= 1u << i;
	janus_mutex_unlock(&s->mutex);
	if(rec == NULL)
		return FALSE;
	rr_job *job = g_malloc0(sizeof(rr_job));
	job->type = RR_JOB_END_RECORDING;
	job->rec = rec;
	job->tracks = tracks;
	job->leave = leave;
	job->now_ms = now_ms();
	g_async_queue_push(jobs, job);
	return TRUE;
}

static void rr_notify(rr_session *s, const char *event) {
	if(!notify_events || gateway == NULL || !gateway->events_is_enabled())
		return;
	json_t *info = json_object();
	json_object_set_new(info, "event", json_string(event));
	json_object_set_new(info, "app", json_string(s->app));
	json_object_set_new(info, "room", json_string(s->room));
	json_object_set_new(info, "peer", json_string(s->peer));
	json_object_set_new(info, "session_id", json_integer((json_int_t)s->session_id));
	gateway->notify_event(&rr_plugin, s->handle, info);
}

/* ---- roomrec callbacks ----------------------------------------------------------- */

/* Runs inside the roomrec session call made on this thread (under the
 * session's mutex); the handle carries its rr_session as user data. */
static void rr_keyframe_cb(roomrec_session *rec, uint32_t track_id, void *user) {
	(void)user;
	rr_session *s = (rr_session *)roomrec_session_user_data(rec);
	if(s == NULL || track_id == 0 || track_id > RR_MAX_MLINES || gateway == NULL)
		return;
	rr_track *t = &s->tracks[track_id - 1];
	gint64 now = janus_get_monotonic_time();
	if(t->last_pli_us != 0 && now - t->last_pli_us < pli_interval_us)
		return;
	t->last_pli_us = now;
	s->plis++;
	gateway->send_pli_stream(s->handle, (int)track_id - 1);
}

static void rr_log_cb(int level, const char *component, const char *message, void *user) {
	(void)user;
	int janus_level = level >= ROOMREC_LOG_ERROR ? LOG_ERR : level == ROOMREC_LOG_WARN ? LOG_WARN
		: level == ROOMREC_LOG_INFO ? LOG_INFO : LOG_VERB;
	JANUS_LOG(janus_level, "[%s] roomrec %s: %s\n", RR_PACKAGE, component, message);
}

static void rr_error_cb(int code, const char *message, void *user) {
	(void)user;
	JANUS_LOG(LOG_WARN, "[%s] recorder: %s (%s)\n", RR_PACKAGE, message, roomrec_strerror(code));
}

static void rr_uploaded_cb(const char *key, uint64_t bytes, void *user) {
	(void)user;
	JANUS_LOG(LOG_VERB, "[%s] uploaded %s (%" PRIu64 " bytes)\n", RR_PACKAGE, key, bytes);
}

/* ---- configuration ------------------------------------------------------------------ */

/* A jcfg value as JSON: true/false, integers, else a string. */
static json_t *rr_config_value(const char *v) {
	if(v == NULL)
		return json_null();
	if(strcmp(v, "true") == 0)
		return json_true();
	if(strcmp(v, "false") == 0)
		return json_false();
	const char *p = v;
	if(*p == '-')
		p++;
	if(*p != '\0' && strlen(p) <= 18) {
		const char *q = p;
		while(*q >= '0' && *q <= '9')
			q++;
		if(*q == '\0')
			return json_integer((json_int_t)g_ascii_strtoll(v, NULL, 10));
	}
	return json_string(v);
}

/* A jcfg category as a JSON object (nested categories as objects). */
static json_t *rr_config_object(janus_config *config, janus_config_container *parent) {
	json_t *obj = json_object();
	GList *items = janus_config_get_items(config, parent);
	for(GList *l = items; l; l = l->next) {
		janus_config_item *item = l->data;
		if(item->name)
			json_object_set_new(obj, item->name, rr_config_value(item->value));
	}
	g_list_free(items);
	GList *cats = janus_config_get_categories(config, parent);
	for(GList *l = cats; l; l = l->next) {
		janus_config_category *cat = l->data;
		if(cat->name)
			json_object_set_new(obj, cat->name, rr_config_object(config, cat));
	}
	g_list_free(cats);
	return obj;
}

static const char *rr_config_string(janus_config *config, janus_config_category *cat, const char *name) {
	janus_config_item *item = janus_config_get(config, cat, janus_config_type_item, name);
	return item && item->value ? item->value : NULL;
}

static gint64 rr_config_int(janus_config *config, janus_config_category *cat, const char *name, gint64 def,
		gint64 min, gint64 max) {
	const char *v = rr_config_string(config, cat, name);
	if(v == NULL)
		return def;
	char *end = NULL;
	gint64 n = g_ascii_strtoll(v, &end, 10);
	if(end == v || *end != '\0' || n < min || n > max) {
		JANUS_LOG(LOG_WARN, "[%s] general.%s = \"%s\" is not an integer in [%" G_GINT64_FORMAT ", %"
			G_GINT64_FORMAT "]; using %" G_GINT64_FORMAT "\n", RR_PACKAGE, name, v, min, max, def);
		return def;
	}
	return n;
}

static int rr_load_config(const char *config_path, char **recorder_json) {
	char filename[1024];
	g_snprintf(filename, sizeof(filename), "%s/%s.jcfg", config_path, RR_PACKAGE);
	janus_config *config = janus_config_parse(filename);
	if(config == NULL) {
		JANUS_LOG(LOG_ERR, "[%s] cannot read %s\n", RR_PACKAGE, filename);
		return -1;
	}
	janus_config_category *general = janus_config_get(config, NULL, janus_config_type_category, "general");
	pli_interval_us = rr_config_int(config, general, "pli_interval_ms", 1000, 100, 60000) * 1000;
	token_leeway_s = rr_config_int(config, general, "token_leeway_s", 0, 0, 3600);
	shutdown_timeout_ms = (guint64)rr_config_int(config, general, "shutdown_timeout_ms", 10000, 0, 3600000);
	const char *events = rr_config_string(config, general, "events");
	notify_events = events == NULL || strcmp(events, "false") != 0;

	janus_config_category *apps_cat = janus_config_get(config, NULL, janus_config_type_category, "apps");
	GList *items = apps_cat ? janus_config_get_items(config, apps_cat) : NULL;
	napps = 0;
	apps = g_new0(rr_app_secret, g_list_length(items) + 1);
	for(GList *l = items; l; l = l->next) {
		janus_config_item *item = l->data;
		if(item->name == NULL || item->value == NULL || *item->value == '\0')
			continue;
		apps[napps].app = g_strdup(item->name);
		apps[napps].secret = g_strdup(item->value);
		napps++;
	}
	g_list_free(items);
	if(napps == 0) {
		JANUS_LOG(LOG_ERR, "[%s] %s: no app in \"apps\" (app = \"secret\"): every join would be refused\n",
			RR_PACKAGE, filename);
		janus_config_destroy(config);
		return -1;
	}
	janus_config_category *rec_cat = janus_config_get(config, NULL, janus_config_type_category, "recorder");
	json_t *rec = rec_cat ? rr_config_object(config, rec_cat) : json_object();
	*recorder_json = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	janus_config_destroy(config);
	return 0;
}

/* ---- threads ---------------------------------------------------------------------------- */

static void *rr_handler(void *data);

static void *rr_housekeeping(void *data) {
	(void)data;
	while(!g_atomic_int_get(&stopping)) {
		g_mutex_lock(&housekeeping_mutex);
		gint64 until = g_get_monotonic_time() + G_USEC_PER_SEC;
		while(!g_atomic_int_get(&stopping))
			if(!g_cond_wait_until(&housekeeping_cond, &housekeeping_mutex, until))
				break;
		g_mutex_unlock(&housekeeping_mutex);
		if(g_atomic_int_get(&stopping))
			break;
		/* Sessions with no packet for a second: tick them (idle rotation). Busy
		 * ones rotate inside their rtp calls; taking their mutex here would only
		 * make a media thread wait. */
		GList *list = NULL;
		janus_mutex_lock(&sessions_mutex);
		GHashTableIter iter;
		gpointer value;
		g_hash_table_iter_init(&iter, sessions);
		while(g_hash_table_iter_next(&iter, NULL, &value)) {
			rr_session *s = value;
			janus_refcount_increase(&s->ref);
			list = g_list_prepend(list, s);
		}
		janus_mutex_unlock(&sessions_mutex);
		gint64 mono = janus_get_monotonic_time();
		for(GList *l = list; l; l = l->next) {
			rr_session *s = l->data;
			janus_mutex_lock(&s->mutex);
			if(s->rec && mono - s->last_media_us >= G_USEC_PER_SEC)
				roomrec_session_tick(s->rec, now_ms());
			janus_mutex_unlock(&s->mutex);
		}
		g_list_free_full(list, rr_session_unref);
	}
	return NULL;
}

static int rr_init(janus_callbacks *callback, const char *config_path) {
	if(g_atomic_int_get(&stopping))
		return -1;
	if(callback == NULL || config_path == NULL)
		return -1;
	if(roomrec_abi_version() != ROOMREC_ABI_VERSION) {
		JANUS_LOG(LOG_ERR, "[%s] built for roomrec ABI %d, loaded %d\n", RR_PACKAGE, ROOMREC_ABI_VERSION,
			roomrec_abi_version());
		return -1;
	}
	char *recorder_json = NULL;
	if(rr_load_config(config_path, &recorder_json) < 0)
		return -1;
	roomrec_set_log_callback(rr_log_cb, NULL, ROOMREC_LOG_INFO);
	if(roomrec_recorder_new(recorder_json, &recorder) != ROOMREC_OK) {
		JANUS_LOG(LOG_ERR, "[%s] recorder configuration refused: %s\n", RR_PACKAGE, roomrec_last_error());
		free(recorder_json);
		return -1;
	}
	free(recorder_json);
	roomrec_recorder_set_keyframe_callback(recorder, rr_keyframe_cb, NULL);
	roomrec_recorder_set_error_callback(recorder, rr_error_cb, NULL);
	roomrec_recorder_set_uploaded_callback(recorder, rr_uploaded_cb, NULL);
	if(roomrec_recorder_start(recorder) != ROOMREC_OK) {
		JANUS_LOG(LOG_ERR, "[%s] recorder did not start: %s\n", RR_PACKAGE, roomrec_last_error());
		roomrec_recorder_free(recorder);
		recorder = NULL;
		return -1;
	}
	sessions = g_hash_table_new_full(NULL, NULL, NULL, rr_session_unref);
	jobs = g_async_queue_new();
	gateway = callback;
	g_atomic_int_set(&initialized, 1);
	GError *error = NULL;
	handler_thread = g_thread_try_new("roomrec handler", rr_handler, NULL, &error);
	if(error == NULL)
		housekeeping_thread = g_thread_try_new("roomrec tick", rr_housekeeping, NULL, &error);
	if(error != NULL) {
		JANUS_LOG(LOG_ERR, "[%s] cannot start a thread: %s\n", RR_PACKAGE, error->message);
		g_error_free(error);
		g_atomic_int_set(&initialized, 0);
		return -1;
	}
	JANUS_LOG(LOG_INFO, "%s initialized (roomrec %s, %zu app(s))\n", RR_NAME, roomrec_version(), napps);
	return 0;
}

static void rr_destroy(void) {
	if(!g_atomic_int_get(&initialized))
		return;
	g_atomic_int_set(&stopping, 1);
	g_mutex_lock(&housekeeping_mutex);
	g_cond_broadcast(&housekeeping_cond);
	g_mutex_unlock(&housekeeping_mutex);
	if(housekeeping_thread)
		g_thread_join(housekeeping_thread);
	housekeeping_thread = NULL;
	/* End every recording still open, then stop the message thread after it
	 * has written those leave rows. */
	janus_mutex_lock(&sessions_mutex);
	GList *list = g_hash_table_get_values(sessions);
	for(GList *l = list; l; l = l->next)
		janus_refcount_increase(&((rr_session *)l->data)->ref);
	janus_mutex_unlock(&sessions_mutex);
	for(GList *l = list; l; l = l->next)
		rr_end_recording(l->data, TRUE);
	g_list_free_full(list, rr_session_unref);
	rr_job *exit_job = g_malloc0(sizeof(rr_job));
	exit_job->type = RR_JOB_EXIT;
	g_async_queue_push(jobs, exit_job);
	if(handler_thread)
		g_thread_join(handler_thread);
	handler_thread = NULL;
	size_t unsent = 0;
	roomrec_recorder_shutdown(recorder, shutdown_timeout_ms, &unsent);
	if(unsent > 0)
		JANUS_LOG(LOG_WARN, "[%s] %zu chunk(s) not uploaded at shutdown (kept in the spill folder, if any)\n",
			RR_PACKAGE, unsent);
	roomrec_recorder_free(recorder);
	recorder = NULL;
	janus_mutex_lock(&sessions_mutex);
	g_hash_table_destroy(sessions);
	sessions = NULL;
	janus_mutex_unlock(&sessions_mutex);
	g_async_queue_unref(jobs);
	jobs = NULL;
	for(size_t i = 0; i < napps; i++) {
		g_free((char *)apps[i].app);
		g_free((char *)apps[i].secret);
	}
	g_free(apps);
	apps = NULL;
	napps = 0;
	roomrec_set_log_callback(NULL, NULL, ROOMREC_LOG_OFF);
	g_atomic_int_set(&initialized, 0);
	g_atomic_int_set(&stopping, 0);
	JANUS_LOG(LOG_INFO, "%s destroyed\n", RR_NAME);
}

static void rr_create_session(janus_plugin_session *handle, int *error) {
	if(g_atomic_int_get(&stopping) || !g_atomic_int_get(&initialized)) {
		*error = -1;
		return;
	}
	rr_session *s = g_malloc0(sizeof(rr_session));
	s->handle = handle;
	janus_mutex_init(&s->mutex);
	janus_refcount_init(&s->ref, rr_session_free);
	handle->plugin_handle = s;
	janus_mutex_lock(&sessions_mutex);
	g_hash_table_insert(sessions, handle, s);
	janus_mutex_unlock(&sessions_mutex);
}

static void rr_destroy_session(janus_plugin_session *handle, int *error) {
	if(g_atomic_int_get(&stopping) || !g_atomic_int_get(&initialized)) {
		*error = -1;
		return;
	}
	rr_session *s = rr_lookup(handle);
	if(s == NULL) {
		*error = -2;
		return;
	}
	/* A session still recording (a client that vanished: Janus timed its
	 * session out) ends with a leave row like any other. */
	rr_end_recording(s, TRUE);
	g_atomic_int_set(&s->destroyed, 1);
	janus_mutex_lock(&sessions_mutex);
	g_hash_table_remove(sessions, handle);
	janus_mutex_unlock(&sessions_mutex);
	janus_refcount_decrease(&s->ref);
}

static json_t *rr_query_session(janus_plugin_session *handle) {
	rr_session *s = rr_lookup(handle);
	if(s == NULL)
		return NULL;
	json_t *info = json_object();
	janus_mutex_lock(&s->mutex);
	json_object_set_new(info, "joined", json_boolean(s->joined));
	if(s->joined) {
		json_object_set_new(info, "app", json_string(s->app));
		json_object_set_new(info, "room", json_string(s->room));
		json_object_set_new(info, "peer", json_string(s->peer));
		json_object_set_new(info, "session_id", json_integer((json_int_t)s->session_id));
		json_object_set_new(info, "record", json_boolean(s->record));
	}
	json_object_set_new(info, "recording", json_boolean(s->rec != NULL));
	json_object_set_new(info, "rtp_packets", json_integer((json_int_t)s->rtp_packets));
	json_object_set_new(info, "rtcp_packets", json_integer((json_int_t)s->rtcp_packets));
	json_object_set_new(info, "data_messages", json_integer((json_int_t)s->data_messages));
	json_object_set_new(info, "refused", json_integer((json_int_t)s->refused));
	json_object_set_new(info, "plis", json_integer((json_int_t)s->plis));
	json_object_set_new(info, "incoming_calls", json_integer((json_int_t)s->incoming_calls));
	json_object_set_new(info, "incoming_us_max", json_integer((json_int_t)s->incoming_us_max));
	json_object_set_new(info, "incoming_us_mean",
		json_real(s->incoming_calls ? (double)s->incoming_us_total / (double)s->incoming_calls : 0.0));
	if(s->rec) {
		char *stats = NULL;
		if(roomrec_session_stats(s->rec, &stats) == ROOMREC_OK) {
			json_t *j = json_loads(stats, 0, NULL);
			if(j)
				json_object_set_new(info, "roomrec", j);
			roomrec_free_string(stats);
		}
	}
	janus_mutex_unlock(&s->mutex);
	janus_refcount_decrease(&s->ref);
	return info;
}

static struct janus_plugin_result *rr_handle_message(janus_plugin_session *handle, char *transaction,
		json_t *message, json_t *jsep) {
	if(g_atomic_int_get(&stopping) || !g_atomic_int_get(&initialized)) {
		g_free(transaction);
		if(message)
			json_decref(message);
		if(jsep)
			json_decref(jsep);
		return janus_plugin_result_new(JANUS_PLUGIN_ERROR,
			g_atomic_int_get(&stopping) ? "Shutting down" : "Plugin not initialized", NULL);
	}
	rr_session *s = rr_lookup(handle);
	if(s == NULL) {
		g_free(transaction);
		if(message)
			json_decref(message);
		if(jsep)
			json_decref(jsep);
		return janus_plugin_result_new(JANUS_PLUGIN_ERROR, "No session associated with this handle", NULL);
	}
	rr_job *job = g_malloc0(sizeof(rr_job));
	job->type = RR_JOB_MESSAGE;
	job->session = s;   /* the lookup's reference */
	job->transaction = transaction;
	job->message = message;
	job->jsep = jsep;
	g_async_queue_push(jobs, job);
	return janus_plugin_result_new(JANUS_PLUGIN_OK_WAIT, NULL, NULL);
}

/* ---- media ------------------------------------------------------------------------------ */

static void rr_setup_media(janus_plugin_session *handle) {
	JANUS_LOG(LOG_INFO, "[%s-%p] WebRTC media is now available\n", RR_PACKAGE, handle);
	rr_session *s = rr_lookup(handle);
	if(s == NULL)
		return;
	g_atomic_int_set(&s->hangingup, 0);
	janus_mutex_lock(&s->mutex);
	if(s->joined && s->record && s->rec == NULL) {
		guint64 now = now_ms();
		json_t *params = json_object();
		json_object_set_new(params, "app", json_string(s->app));
		json_object_set_new(params, "room", json_string(s->room));
		json_object_set_new(params, "peer", json_string(s->peer));
		json_object_set_new(params, "session_id", json_integer((json_int_t)s->session_id));
		json_object_set_new(params, "user_agent", json_string(s->user_agent));
		char *p = json_dumps(params, JSON_COMPACT);
		json_decref(params);
		roomrec_session *rec = NULL;
		if(roomrec_session_open(recorder, p, now, &rec) != ROOMREC_OK) {
			JANUS_LOG(LOG_ERR, "[%s-%p] cannot record %s/%s/%s: %s\n", RR_PACKAGE, handle, s->app, s->room,
				s->peer, roomrec_last_error());
		} else {
			roomrec_session_set_user_data(rec, s);
			s->rec = rec;
			for(int i = 0; i < RR_MAX_MLINES; i++) {
				rr_track *t = &s->tracks[i];
				if(!t->used)
					continue;
				json_t *tj = json_object();
				json_object_set_new(tj, "kind", json_string(t->video ? "video" : "audio"));
				json_object_set_new(tj, "name", json_string(t->name));
				json_object_set_new(tj, "codec", json_string(t->codec));
				json_object_set_new(tj, "clock_rate", json_integer(t->clock_rate));
				json_object_set_new(tj, "channels", json_integer(t->channels));
				json_object_set_new(tj, "fmtp", json_string(t->fmtp));
				json_object_set_new(tj, "ssrc", json_integer(t->ssrc));
				json_object_set_new(tj, "cvo_extension_id", json_integer(t->cvo_id > 0 ? t->cvo_id : 0));
				json_t *exts = json_array();
				for(int e = 0; e < t->nexts; e++)
					json_array_append_new(exts, json_pack("{siss}", "id", t->exts[e].id, "uri", t->exts[e].uri));
				json_object_set_new(tj, "extensions", exts);
				char *tjs = json_dumps(tj, JSON_COMPACT);
				json_decref(tj);
				if(roomrec_session_track_started(rec, t->track_id, tjs, now) != ROOMREC_OK)
					JANUS_LOG(LOG_WARN, "[%s-%p] track %s not recorded: %s\n", RR_PACKAGE, handle, t->name,
						roomrec_last_error());
				free(tjs);
			}
			s->last_media_us = janus_get_monotonic_time();
			JANUS_LOG(LOG_INFO, "[%s-%p] recording %s/%s/%s session %" PRIu64 "\n", RR_PACKAGE, handle,
				s->app, s->room, s->peer, s->session_id);
			rr_notify(s, "recording");
		}
		free(p);
	}
	janus_mutex_unlock(&s->mutex);
	janus_refcount_decrease(&s->ref);
}

/* Time spent in the media callbacks, for query_session. */
static inline void rr_account(rr_session *s, gint64 started) {
	gint64 now = janus_get_monotonic_time();
	gint64 d = now - started;
	s->incoming_calls++;
	s->incoming_us_total += d;
	if(d > s->incoming_us_max)
		s->incoming_us_max = d;
	s->last_media_us = now;
}

/* The session of a media callback, or NULL when the input is to be ignored. */
static inline rr_session *rr_media_session(janus_plugin_session *handle, const void *packet) {
	if(handle == NULL || packet == NULL || g_atomic_int_get(&handle->stopped) || g_atomic_int_get(&stopping))
		return NULL;
	rr_session *s = (rr_session *)handle->plugin_handle;
	return s != NULL && !g_atomic_int_get(&s->destroyed) ? s : NULL;
}

/* Counts one input roomrec recorded (or refused) and the time spent on it. */
static inline void rr_count(rr_session *s, int result, guint64 *recorded, gint64 started) {
	if(result == ROOMREC_OK)
		(*recorded)++;
	else if(result != ROOMREC_RECORD_PAUSED)  /* paused on request: counted by roomrec, not refused */
		s->refused++;
	rr_account(s, started);
}

static void rr_incoming_rtp(janus_plugin_session *handle, janus_plugin_rtp *packet) {
	rr_session *s = rr_media_session(handle, packet);
	if(s == NULL)
		return;
	gint64 started = janus_get_monotonic_time();
	janus_mutex_lock(&s->mutex);
	if(s->rec && packet->mindex >= 0 && packet->mindex < RR_MAX_MLINES && s->tracks[packet->mindex].used)
		rr_count(s, roomrec_session_rtp(s->rec, s->tracks[packet->mindex].track_id, (const uint8_t *)packet->buffer,
			packet->length, now_ms()), &s->rtp_packets, started);
	janus_mutex_unlock(&s->mutex);
}

static void rr_incoming_rtcp(janus_plugin_session *handle, janus_plugin_rtcp *packet) {
	rr_session *s = rr_media_session(handle, packet);
	if(s == NULL)
		return;
	gint64 started = janus_get_monotonic_time();
	janus_mutex_lock(&s->mutex);
	if(s->rec)
		rr_count(s, roomrec_session_rtcp(s->rec, (const uint8_t *)packet->buffer, packet->length, now_ms()),
			&s->rtcp_packets, started);
	janus_mutex_unlock(&s->mutex);
}

static void rr_incoming_data(janus_plugin_session *handle, janus_plugin_data *packet) {
	rr_session *s = rr_media_session(handle, packet);
	if(s == NULL)
		return;
	gint64 started = janus_get_monotonic_time();
	janus_mutex_lock(&s->mutex);
	if(s->rec)
		rr_count(s, roomrec_session_data(s->rec, packet->label ? packet->label : "", packet->binary ? 1 : 0,
			(const uint8_t *)packet->buffer, packet->length, now_ms()), &s->data_messages, started);
	janus_mutex_unlock(&s->mutex);
}

static void rr_hangup_media(janus_plugin_session *handle) {
	JANUS_LOG(LOG_INFO, "[%s-%p] no WebRTC media anymore\n", RR_PACKAGE, handle);
	rr_session *s = rr_lookup(handle);
	if(s == NULL)
		return;
	if(!g_atomic_int_compare_and_exchange(&s->hangingup, 0, 1)) {
		janus_refcount_decrease(&s->ref);
		return;
	}
	/* Hang-up, ICE failure, DTLS alert, a leave request: the session ends
	 * here; a new join (with a new offer) starts a new one. */
	gboolean was_recording = rr_end_recording(s, TRUE);
	janus_mutex_lock(&s->mutex);
	s->joined = FALSE;
	memset(s->tracks, 0, sizeof(s->tracks));
	janus_mutex_unlock(&s->mutex);
	if(was_recording)
		rr_notify(s, "stopped");
	json_t *event = json_object();
	json_object_set_new(event, "roomrec", json_string("event"));
	json_object_set_new(event, "result", json_string("done"));
	gateway->push_event(handle, &rr_plugin, NULL, event, NULL);
	json_decref(event);
	janus_refcount_decrease(&s->ref);
}

/* ---- requests ------------------------------------------------------------------------------ */

/* Reads the tracks to record from the offer and writes a recvonly answer;
 * NULL and a reason in err when the offer cannot be answered. */
static char *rr_answer(rr_session *s, const char *offer_sdp, char *err, size_t errlen) {
	char sdp_error[200] = "";
	janus_sdp *offer = janus_sdp_parse(offer_sdp, sdp_error, sizeof(sdp_error));
	if(offer == NULL) {
		g_snprintf(err, errlen, "malformed SDP offer: %s", sdp_error[0] ? sdp_error : "unparsable");
		return NULL;
	}
	janus_sdp *answer = janus_sdp_generate_answer(offer);
	rr_track tracks[RR_MAX_MLINES];
	memset(tracks, 0, sizeof(tracks));
	int recorded = 0;
	for(GList *l = offer->m_lines; l; l = l->next) {
		janus_sdp_mline *m = l->data;
		gboolean media = m->type == JANUS_SDP_AUDIO || m->type == JANUS_SDP_VIDEO;
		const char *codec = NULL;
		if(media && m->index >= 0 && m->index < RR_MAX_MLINES && m->port > 0 &&
				m->direction != JANUS_SDP_INACTIVE && m->direction != JANUS_SDP_RECVONLY) {
			/* The sender's first codec roomrec can record, in the sender's order. */
			for(GList *pt = m->ptypes; pt && codec == NULL; pt = pt->next) {
				const char *name = janus_sdp_get_codec_name(offer, m->index, GPOINTER_TO_INT(pt->data));
				if(name == NULL)
					continue;
				if(m->type == JANUS_SDP_AUDIO ? strcmp(name, "opus") == 0
						: (strcmp(name, "vp8") == 0 || strcmp(name, "vp9") == 0 || strcmp(name, "h264") == 0 ||
						   strcmp(name, "av1") == 0))
					codec = name;
			}
		}
		if(codec != NULL) {
			janus_sdp_generate_answer_mline(offer, answer, m,
				JANUS_SDP_OA_MLINE, m->type,
				JANUS_SDP_OA_CODEC, codec,
				JANUS_SDP_OA_DIRECTION, JANUS_SDP_RECVONLY,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_MID,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_AUDIO_LEVEL,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_VIDEO_ORIENTATION,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_TRANSPORT_WIDE_CC,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_ABS_SEND_TIME,
				JANUS_SDP_OA_DONE);
			rr_track *t = &tracks[m->index];
			t->used = TRUE;
			t->video = m->type == JANUS_SDP_VIDEO;
			t->track_id = (uint32_t)m->index + 1;
			g_strlcpy(t->codec, codec, sizeof(t->codec));
			g_snprintf(t->name, sizeof(t->name), "%s_%d", t->video ? "video" : "audio", m->index);
			t->clock_rate = t->video ? 90000 : 48000;
			t->channels = t->video ? 0 : 2;
			janus_sdp_mline *am = janus_sdp_mline_find_by_index(answer, m->index);
			int pt = janus_sdp_get_codec_pt(answer, m->index, codec);
			if(pt >= 0) {
				const char *fmtp = janus_sdp_get_fmtp(offer, m->index, pt);
				if(fmtp)
					g_strlcpy(t->fmtp, fmtp, sizeof(t->fmtp));
			}
			/* "a=extmap:ID[/direction] URI [attributes]" of the answer: what the
			 * sender may put in its packets. */
			for(GList *a = am ? am->attributes : NULL; a; a = a->next) {
				janus_sdp_attribute *attr = a->data;
				if(attr->name == NULL || attr->value == NULL || strcmp(attr->name, "extmap") != 0)
					continue;
				int id = atoi(attr->value);
				const char *uri = strchr(attr->value, ' ');
				if(id < 1 || id > 255 || uri == NULL || t->nexts == RR_MAX_EXTENSIONS)
					continue;
				uri++;
				size_t len = strcspn(uri, " ");
				if(len == 0 || len >= sizeof(t->exts[0].uri))
					continue;
				t->exts[t->nexts].id = id;
				memcpy(t->exts[t->nexts].uri, uri, len);
				t->exts[t->nexts].uri[len] = '\0';
				t->nexts++;
				if(strcmp(t->exts[t->nexts - 1].uri, JANUS_RTP_EXTMAP_VIDEO_ORIENTATION) == 0)
					t->cvo_id = id;
			}
			for(GList *a = m->attributes; a && t->ssrc == 0; a = a->next) {
				janus_sdp_attribute *attr = a->data;
				if(attr->name && attr->value && strcmp(attr->name, "ssrc") == 0)
					t->ssrc = (uint32_t)g_ascii_strtoull(attr->value, NULL, 10);
			}
			recorded++;
		} else if(m->type == JANUS_SDP_APPLICATION) {
			janus_sdp_generate_answer_mline(offer, answer, m, JANUS_SDP_OA_MLINE, JANUS_SDP_APPLICATION,
				JANUS_SDP_OA_DONE);
		} else {
			janus_sdp_generate_answer_mline(offer, answer, m, JANUS_SDP_OA_MLINE, m->type,
				JANUS_SDP_OA_ENABLED, FALSE, JANUS_SDP_OA_DONE);
		}
	}
	gboolean has_data = janus_sdp_mline_find(offer, JANUS_SDP_APPLICATION) != NULL;
	janus_sdp_destroy(offer);
	if(recorded == 0 && !has_data) {
		janus_sdp_destroy(answer);
		g_snprintf(err, errlen, "the offer has no audio (opus), video (vp8, vp9, h264, av1) or data channel to record");
		return NULL;
	}
	char *sdp = janus_sdp_write(answer);
	janus_sdp_destroy(answer);
	memcpy(s->tracks, tracks, sizeof(tracks));
	return sdp;
}

static void rr_push_error(rr_session *s, const char *transaction, int code, const char *error) {
	json_t *event = json_object();
	json_object_set_new(event, "roomrec", json_string("event"));
	json_object_set_new(event, "error_code", json_integer(code));
	json_object_set_new(event, "error", json_string(error));
	gateway->push_event(s->handle, &rr_plugin, transaction, event, NULL);
	json_decref(event);
}

static void rr_handle_join(rr_job *job) {
	rr_session *s = job->session;
	char err[512];
	json_t *token = json_object_get(job->message, "token");
	if(token == NULL || !json_is_string(token)) {
		rr_push_error(s, job->transaction, RR_ERROR_MISSING_ELEMENT, "join: missing \"token\" (string)");
		return;
	}
	if(job->jsep == NULL) {
		rr_push_error(s, job->transaction, RR_ERROR_MISSING_ELEMENT, "join: missing JSEP offer");
		return;
	}
	const char *type = json_string_value(json_object_get(job->jsep, "type"));
	const char *offer = json_string_value(json_object_get(job->jsep, "sdp"));
	if(type == NULL || strcmp(type, "offer") != 0 || offer == NULL) {
		rr_push_error(s, job->transaction, RR_ERROR_INVALID_ELEMENT, "join: the JSEP must be an offer with an sdp");
		return;
	}
	if(json_is_true(json_object_get(job->jsep, "e2ee"))) {
		rr_push_error(s, job->transaction, RR_ERROR_INVALID_ELEMENT, "join: end-to-end encrypted media cannot be recorded");
		return;
	}
	rr_token_claims claims;
	if(rr_token_verify(json_string_value(token), apps, napps, (long long)(janus_get_real_time() / G_USEC_PER_SEC),
			token_leeway_s, &claims, err, sizeof(err)) < 0) {
		JANUS_LOG(LOG_WARN, "[%s-%p] join refused: %s\n", RR_PACKAGE, s->handle, err);
		rr_push_error(s, job->transaction, RR_ERROR_UNAUTHORIZED, err);
		return;
	}
	janus_mutex_lock(&s->mutex);
	gboolean already = s->joined;
	janus_mutex_unlock(&s->mutex);
	if(already) {
		rr_push_error(s, job->transaction, RR_ERROR_ALREADY_JOINED, "join: already joined on this handle");
		return;
	}
	janus_mutex_lock(&s->mutex);
	char *answer = rr_answer(s, offer, err, sizeof(err));
	if(answer != NULL) {
		s->joined = TRUE;
		s->record = claims.record;
		g_strlcpy(s->app, claims.app, sizeof(s->app));
		g_strlcpy(s->room, claims.room, sizeof(s->room));
		g_strlcpy(s->peer, claims.peer, sizeof(s->peer));
		/* Unique per peer session; below 2^53 so JavaScript receivers keep it exact. */
		s->session_id = janus_random_uint64() & ((G_GUINT64_CONSTANT(1) << 53) - 1);
		const char *ua = json_string_value(json_object_get(job->message, "user_agent"));
		g_strlcpy(s->user_agent, ua ? ua : "", sizeof(s->user_agent));
	}
	janus_mutex_unlock(&s->mutex);
	if(answer == NULL) {
		JANUS_LOG(LOG_WARN, "[%s-%p] join refused: %s\n", RR_PACKAGE, s->handle, err);
		rr_push_error(s, job->transaction, RR_ERROR_INVALID_SDP, err);
		return;
	}
	json_t *event = json_object();
	json_object_set_new(event, "roomrec", json_string("event"));
	json_object_set_new(event, "result", json_string("joined"));
	json_object_set_new(event, "app", json_string(claims.app));
	json_object_set_new(event, "room", json_string(claims.room));
	json_object_set_new(event, "peer", json_string(claims.peer));
	json_object_set_new(event, "session_id", json_integer((json_int_t)s->session_id));
	json_object_set_new(event, "recording", json_boolean(claims.record));
	json_t *jsep = json_pack("{ssss}", "type", "answer", "sdp", answer);
	g_free(answer);
	int r = gateway->push_event(s->handle, &rr_plugin, job->transaction, event, jsep);
	json_decref(event);
	json_decref(jsep);
	JANUS_LOG(LOG_INFO, "[%s-%p] %s/%s/%s joined (record %s), answer pushed: %d\n", RR_PACKAGE, s->handle,
		claims.app, claims.room, claims.peer, claims.record ? "on" : "off", r);
}

/* {"request":"pause"|"resume"} (the whole session) or with "mline": N (that m-line's track). */
static void rr_handle_pause(rr_job *job, gboolean pause) {
	rr_session *s = job->session;
	const char *what = pause ? "pause" : "resume";
	json_t *mline = json_object_get(job->message, "mline");
	if(mline != NULL && (!json_is_integer(mline) || json_integer_value(mline) < 0 ||
			json_integer_value(mline) >= RR_MAX_MLINES)) {
		char err[96];
		g_snprintf(err, sizeof(err), "%s: \"mline\" must be an m-line index 0..%d", what, RR_MAX_MLINES - 1);
		rr_push_error(s, job->transaction, RR_ERROR_INVALID_ELEMENT, err);
		return;
	}
	char err[300] = "";
	int code = 0;
	janus_mutex_lock(&s->mutex);
	if(!s->joined || s->rec == NULL) {
		code = RR_ERROR_NOT_JOINED;
		g_snprintf(err, sizeof(err), "%s: not recording", what);
	} else if(mline != NULL && !s->tracks[json_integer_value(mline)].used) {
		code = RR_ERROR_INVALID_ELEMENT;
		g_snprintf(err, sizeof(err), "%s: m-line %d is not recorded", what, (int)json_integer_value(mline));
	} else {
		uint64_t now = now_ms();
		int r = mline == NULL ? (pause ? roomrec_session_pause(s->rec, now) : roomrec_session_resume(s->rec, now))
			: (pause ? roomrec_session_pause_track(s->rec, s->tracks[json_integer_value(mline)].track_id, now)
				: roomrec_session_resume_track(s->rec, s->tracks[json_integer_value(mline)].track_id, now));
		if(r != ROOMREC_OK) {
			code = r == ROOMREC_RECORD_INVALID ? RR_ERROR_INVALID_REQUEST : RR_ERROR_RECORDER;
			g_snprintf(err, sizeof(err), "%s: %s", what,
				r == ROOMREC_RECORD_INVALID ? roomrec_last_error() : roomrec_strerror(r));
		}
	}
	janus_mutex_unlock(&s->mutex);
	if(code) {
		rr_push_error(s, job->transaction, code, err);
		return;
	}
	json_t *event = json_pack("{ssss}", "roomrec", "event", "result", pause ? "paused" : "resumed");
	if(mline != NULL)
		json_object_set_new(event, "mline", json_integer(json_integer_value(mline)));
	gateway->push_event(s->handle, &rr_plugin, job->transaction, event, NULL);
	json_decref(event);
	JANUS_LOG(LOG_INFO, "[%s-%p] recording %s\n", RR_PACKAGE, s->handle, pause ? "paused" : "resumed");
}

static void rr_handle_request(rr_job *job) {
	rr_session *s = job->session;
	if(g_atomic_int_get(&s->destroyed))
		return;
	if(job->message == NULL || !json_is_object(job->message)) {
		rr_push_error(s, job->transaction, RR_ERROR_INVALID_JSON, "the message must be a JSON object");
		return;
	}
	const char *request = json_string_value(json_object_get(job->message, "request"));
	if(request == NULL) {
		rr_push_error(s, job->transaction, RR_ERROR_MISSING_ELEMENT, "missing \"request\" (string)");
		return;
	}
	if(strcmp(request, "join") == 0) {
		rr_handle_join(job);
	} else if(strcmp(request, "leave") == 0) {
		janus_mutex_lock(&s->mutex);
		gboolean joined = s->joined;
		janus_mutex_unlock(&s->mutex);
		if(!joined) {
			rr_push_error(s, job->transaction, RR_ERROR_NOT_JOINED, "leave: not joined");
			return;
		}
		rr_end_recording(s, TRUE);
		json_t *event = json_pack("{ssss}", "roomrec", "event", "result", "left");
		gateway->push_event(s->handle, &rr_plugin, job->transaction, event, NULL);
		json_decref(event);
		/* Closing the PeerConnection ends in hangup_media, which resets the handle. */
		gateway->close_pc(s->handle);
	} else if(strcmp(request, "pause") == 0 || strcmp(request, "resume") == 0) {
		rr_handle_pause(job, strcmp(request, "pause") == 0);
	} else {
		char err[128];
		g_snprintf(err, sizeof(err), "unknown request \"%.64s\"", request);
		rr_push_error(s, job->transaction, RR_ERROR_INVALID_REQUEST, err);
	}
}

/* Ends a detached recording: a stop row per track, then the leave row (or a
 * plain close), which closes the last chunk and hands it to the store. */
static void rr_finish(rr_job *job) {
	for(int i = 0; i < RR_MAX_MLINES; i++)
		if(job->tracks & (1u << i))
			roomrec_session_track_stopped(job->rec, (uint32_t)i + 1, job->now_ms);
	int r = job->leave ? roomrec_session_leave(job->rec, job->now_ms) : roomrec_session_close(job->rec, job->now_ms);
	if(r < 0)
		JANUS_LOG(LOG_WARN, "[%s] ending a recording: %s\n", RR_PACKAGE, roomrec_last_error());
	roomrec_session_free(job->rec);
}

static void *rr_handler(void *data) {
	(void)data;
	for(;;) {
		rr_job *job = g_async_queue_pop(jobs);
		if(job->type == RR_JOB_EXIT) {
			g_free(job);
			break;
		}
		if(job->type == RR_JOB_END_RECORDING) {
			rr_finish(job);
		} else {
			rr_handle_request(job);
		}
		rr_job_free(job);
	}
	/* Recordings ended by destroy() after the exit job was queued: none, it
	 * queues them first; drain anything else left. */
	rr_job *job;
	while((job = g_async_queue_try_pop(jobs)) != NULL) {
		if(job->type == RR_JOB_END_RECORDING)
			rr_finish(job);
		rr_job_free(job);
	}
	return NULL;
}
