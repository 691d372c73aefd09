/* cs_paths.c - installed folders, or the source tree's for a build tree. */
#include "cs_paths.h"
#include "cs_build_tree.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int in_build_tree;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Whether this process's binary lies under the build directory. Resolved
 * links on both sides: a build tree reached through a symbolic link is
 * still the build tree, and a link to an installed binary is not. */
static void probe(void)
{
	char exe[PATH_MAX], build[PATH_MAX];
	size_t n;

	if (CS_BUILD_TREE_DIR[0] == '\0' || CS_SOURCE_TREE_DIR[0] == '\0')
		return;
	if (realpath("/proc/self/exe", exe) == NULL ||
	    realpath(CS_BUILD_TREE_DIR, build) == NULL)
		return;
	n = strlen(build);
	in_build_tree = strncmp(exe, build, n) == 0 && exe[n] == '/';
}

const char *cs_paths_data(const char *installed, const char *in_source)
{
	/* A few folders at most, each asked for by name: one slot each,
	 * written once, then only read. */
	static struct { const char *key; char path[PATH_MAX]; } seen[8];
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	const char *r = installed;
	size_t i;

	pthread_once(&once, probe);
	if (!in_build_tree)
		return installed;
	pthread_mutex_lock(&lock);
	for (i = 0; i < sizeof(seen) / sizeof(seen[0]); i++) {
		if (seen[i].key == NULL) {
			if (snprintf(seen[i].path, sizeof(seen[i].path), "%s/%s",
			    CS_SOURCE_TREE_DIR, in_source) >=
			    (int)sizeof(seen[i].path))
				break;
			seen[i].key = in_source;
		}
		if (strcmp(seen[i].key, in_source) == 0) {
			r = seen[i].path;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return r;
}
