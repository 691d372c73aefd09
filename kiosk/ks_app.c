/* ks_app.c - the kiosk put together: the server (ks_server.c) with its
 * routes and its run part. The parts call the server (replies, its
 * configuration, the hub); the server calls the parts only through this
 * table, so ks_server.c and ks_run.c do not depend on each other. */
#include "ks.h"

#define E KS_ROLE_ENCODE
#define D KS_ROLE_DESK
#define A KS_ROLE_ADMIN

static const ks_route routes[] = {
	{"POST", "/api/login", ks_api_login, 0},
	{"POST", "/api/logout", ks_api_logout, 0},
	{"GET", "/api/features", ks_api_features, 0},
	{"GET", "/api/codes", ks_api_codes, E | D | A},
	{"GET", "/api/state", ks_api_run_state, E},
	{"GET", "/api/readers", ks_api_readers, E | D},
	{"GET", "/api/runs", ks_api_runs, E | A},
	{"GET", "/api/folders", ks_api_folders, A},
	{"POST", "/api/inspect", ks_api_inspect, A},
	{"POST", "/api/import", ks_api_import, A},
	{"POST", "/api/run/start", ks_api_run_start, E},
	{"POST", "/api/run/answer", ks_api_run_answer, E},
	{"POST", "/api/run/control", ks_api_run_control, E},
	{"POST", "/api/letter", ks_api_letter, E},
	{"POST", "/api/handover", ks_api_handover, E},
	{"GET", "/api/search", ks_api_search, D},
	{"GET", "/api/export.csv", ks_api_export, D},
	{"POST", "/api/verify", ks_api_verify, E | D},
	{"POST", "/api/lost", ks_api_lost, D},
	{"POST", "/api/wipe", ks_api_wipe, D},
	{"POST", "/api/pin-reset", ks_api_pin_reset, D},
};

#undef E
#undef D
#undef A

int ks_server_start(ks_server **out, const ks_config *cfg, char *why,
    size_t whylen)
{
	static const ks_app app = {
		routes, sizeof(routes) / sizeof(routes[0]),
		ks_run_new, ks_run_free,
	};

	return ks_server_open(out, cfg, &app, why, whylen);
}
