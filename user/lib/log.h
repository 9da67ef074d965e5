/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How the library reports: it never prints. A failing function records one
 * line saying what went wrong (hl_err) and returns -errno; the caller shows
 * hl_errmsg() at its boundary (the CLI's main, the agent's log). Warnings
 * (the operation went through, something deserves attention) go to the
 * logger the caller installed, or nowhere.
 */
#ifndef HELIOS_LIB_LOG_H
#define HELIOS_LIB_LOG_H

enum hl_log_level { HL_LOG_ERROR, HL_LOG_WARN, HL_LOG_INFO, HL_LOG_DEBUG };

typedef void (*hl_logger_fn)(enum hl_log_level level, const char *msg);

void hl_set_logger(hl_logger_fn fn);

/* Record the error of the current operation (replaces any earlier one). */
void hl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last recorded error, "" when none. */
const char *hl_errmsg(void);
void hl_errclear(void);

#endif /* HELIOS_LIB_LOG_H */
