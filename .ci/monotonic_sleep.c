/* Preloaded before libfaketime in the shifted-clock CI runs: libfaketime 0.9.10 (Debian 12) rewrites an
   absolute CLOCK_MONOTONIC sleep as if monotonic time were faked even with FAKETIME_DONT_FAKE_MONOTONIC=1, and
   the kernel answers EINVAL, so every time.sleep() in Python fails. Faking monotonic time instead makes
   threading waits hang (sem_clockwait is not rewritten). Monotonic sleeps go straight to the kernel here;
   the wall clock stays shifted. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int clock_nanosleep(clockid_t clock_id, int flags, const struct timespec *request, struct timespec *remain) {
    if (clock_id == CLOCK_MONOTONIC) {
        return syscall(SYS_clock_nanosleep, clock_id, flags, request, remain) == -1 ? errno : 0;
    }
    static int (*next)(clockid_t, int, const struct timespec *, struct timespec *);
    if (next == NULL) {
        next = (int (*)(clockid_t, int, const struct timespec *, struct timespec *))dlsym(RTLD_NEXT, "clock_nanosleep");
    }
    return next(clock_id, flags, request, remain);
}
