#pragma once
#include <fcgiapp.h>
#include <fastcgi.h>
#include <stddef.h>

/* glibc declares these two only under _GNU_SOURCE, which Swift's Glibc module is
   built without; both exist in every glibc the service runs on. */
extern void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen);
extern int pipe2(int pipefd[2], int flags);

/* Byte-string search (multipart boundaries in large bodies). */
static inline const void *cfcgi_memmem(const void *haystack, size_t haystack_length,
                                       const void *needle, size_t needle_length) {
    return memmem(haystack, haystack_length, needle, needle_length);
}

/* A pipe whose ends are created with flags (O_CLOEXEC, O_NONBLOCK) atomically. */
static inline int cfcgi_pipe2(int fds[2], int flags) {
    return pipe2(fds, flags);
}
