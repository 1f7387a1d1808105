// prctl(2) is variadic, which Swift cannot call: the one use the worker needs, wrapped.
#ifndef TASKFORCE_PROCESS_CONTROL_H
#define TASKFORCE_PROCESS_CONTROL_H
#ifdef __linux__
#include <sys/prctl.h>
#endif

/// Makes the calling process non-dumpable: its memory, /proc/<pid>/environ and
/// /proc/<pid>/mem can then be read by no other process of the same user (only by root
/// with CAP_SYS_PTRACE), and it leaves no core dump. Returns 0, or -1 where unsupported.
static inline int taskforce_make_nondumpable(void) {
#ifdef __linux__
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#else
    return -1;
#endif
}
#endif
