// Typed wrappers for libcurl's variadic calls, which Swift cannot call directly.
// Only Sources/Alerts/CurlEasy.swift uses these.
#ifndef HOTSTANDBY_CCURL_SHIM_H
#define HOTSTANDBY_CCURL_SHIM_H

#include <curl/curl.h>

/// The size of the buffer CURLOPT_ERRORBUFFER writes into.
static const int hs_curl_error_size = CURL_ERROR_SIZE;

/// A read or write callback: (buffer, size, count, userdata) -> bytes handled.
typedef size_t (*hs_curl_io_callback)(char *buffer, size_t size, size_t count, void *userdata);

static inline CURLcode hs_curl_global_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT); }

static inline CURLcode hs_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hs_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hs_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hs_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hs_curl_setopt_callback(CURL *handle, CURLoption option, hs_curl_io_callback value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hs_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif
