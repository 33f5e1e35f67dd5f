// libcurl, loaded with dlopen on first use instead of linked (issue 16: linked, libcurl and the libraries only it
// needs were mapped into every daemon, ~2.7 MiB resident, whether or not an alert or a failsafe beat ever ran).
// Typed wrappers for its variadic calls, which Swift cannot call directly, go through the loaded table.
// Only Sources/Alerts/CurlEasy.swift uses these.
#ifndef HOTSTANDBY_CCURL_SHIM_H
#define HOTSTANDBY_CCURL_SHIM_H

#include <curl/curl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/// The size of the buffer CURLOPT_ERRORBUFFER writes into.
static const int hs_curl_error_size = CURL_ERROR_SIZE;

/// A read or write callback: (buffer, size, count, userdata) -> bytes handled.
typedef size_t (*hs_curl_io_callback)(char *buffer, size_t size, size_t count, void *userdata);

/// The functions of libcurl the package calls, resolved by hs_curl_load. The variadic two are kept untyped here and
/// cast back to their declared type where they are called, so the call is compiled as a variadic call.
typedef struct hs_curl_api {
    void *library;
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void *easy_setopt;
    void *easy_getinfo;
    CURLcode (*easy_perform)(CURL *handle);
    void (*easy_cleanup)(CURL *handle);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *item);
    void (*slist_free_all)(struct curl_slist *list);
} hs_curl_api;

/// Loads libcurl from `soname` (libcurl.so.4), resolves every function above and runs curl_global_init. Returns 1,
/// or 0 with the reason in `error` (dlerror's text, or the missing symbol). Not thread-safe (curl_global_init is
/// not): call it once per process.
static inline int hs_curl_load(hs_curl_api *api, const char *soname, char *error, size_t error_size) {
    memset(api, 0, sizeof *api);
    void *library = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(error, error_size, "%s", reason != NULL ? reason : "dlopen failed");
        return 0;
    }
    struct {
        const char *name;
        void **slot;
    } symbols[] = {
        {"curl_global_init", (void **)&api->global_init},
        {"curl_easy_init", (void **)&api->easy_init},
        {"curl_easy_setopt", &api->easy_setopt},
        {"curl_easy_getinfo", &api->easy_getinfo},
        {"curl_easy_perform", (void **)&api->easy_perform},
        {"curl_easy_cleanup", (void **)&api->easy_cleanup},
        {"curl_easy_strerror", (void **)&api->easy_strerror},
        {"curl_slist_append", (void **)&api->slist_append},
        {"curl_slist_free_all", (void **)&api->slist_free_all},
    };
    for (size_t index = 0; index < sizeof symbols / sizeof symbols[0]; index++) {
        *symbols[index].slot = dlsym(library, symbols[index].name);
        if (*symbols[index].slot == NULL) {
            snprintf(error, error_size, "%s has no %s", soname, symbols[index].name);
            dlclose(library);
            memset(api, 0, sizeof *api);
            return 0;
        }
    }
    CURLcode code = api->global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) {
        snprintf(error, error_size, "curl_global_init: %s", api->easy_strerror(code));
        dlclose(library);
        memset(api, 0, sizeof *api);
        return 0;
    }
    api->library = library;
    return 1;
}

typedef CURLcode (*hs_curl_setopt_function)(CURL *handle, CURLoption option, ...);
typedef CURLcode (*hs_curl_getinfo_function)(CURL *handle, CURLINFO info, ...);

static inline CURL *hs_curl_easy_init(const hs_curl_api *api) { return api->easy_init(); }

static inline CURLcode hs_curl_easy_perform(const hs_curl_api *api, CURL *handle) {
    return api->easy_perform(handle);
}

static inline void hs_curl_easy_cleanup(const hs_curl_api *api, CURL *handle) { api->easy_cleanup(handle); }

static inline const char *hs_curl_easy_strerror(const hs_curl_api *api, CURLcode code) {
    return api->easy_strerror(code);
}

static inline struct curl_slist *hs_curl_slist_append(const hs_curl_api *api, struct curl_slist *list,
                                                      const char *item) {
    return api->slist_append(list, item);
}

static inline void hs_curl_slist_free_all(const hs_curl_api *api, struct curl_slist *list) {
    api->slist_free_all(list);
}

static inline CURLcode hs_curl_setopt_long(const hs_curl_api *api, CURL *handle, CURLoption option, long value) {
    return ((hs_curl_setopt_function)api->easy_setopt)(handle, option, value);
}

static inline CURLcode hs_curl_setopt_string(const hs_curl_api *api, CURL *handle, CURLoption option,
                                             const char *value) {
    return ((hs_curl_setopt_function)api->easy_setopt)(handle, option, value);
}

static inline CURLcode hs_curl_setopt_pointer(const hs_curl_api *api, CURL *handle, CURLoption option,
                                              void *value) {
    return ((hs_curl_setopt_function)api->easy_setopt)(handle, option, value);
}

static inline CURLcode hs_curl_setopt_slist(const hs_curl_api *api, CURL *handle, CURLoption option,
                                            struct curl_slist *value) {
    return ((hs_curl_setopt_function)api->easy_setopt)(handle, option, value);
}

static inline CURLcode hs_curl_setopt_callback(const hs_curl_api *api, CURL *handle, CURLoption option,
                                               hs_curl_io_callback value) {
    return ((hs_curl_setopt_function)api->easy_setopt)(handle, option, value);
}

static inline CURLcode hs_curl_getinfo_long(const hs_curl_api *api, CURL *handle, CURLINFO info, long *value) {
    return ((hs_curl_getinfo_function)api->easy_getinfo)(handle, info, value);
}

#endif
