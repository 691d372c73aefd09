/* cs_paths.h - where the station's data files are.
 *
 * An installed binary reads the installed folders (the build's prefix). A
 * binary run from its own build tree reads the source tree's instead, so
 * that a developer or an administrator trying a build runs it as it is,
 * without flags or variables: the build tree is known by /proc/self/exe
 * lying under the build directory CMake wrote into cs_build_tree.h. */
#ifndef CS_PATHS_H
#define CS_PATHS_H

/* installed, or, for a binary in its build tree, the source tree's folder
 * in_source (relative to the source tree, e.g. "cardprofiles"). */
const char *cs_paths_data(const char *installed, const char *in_source);

#endif
