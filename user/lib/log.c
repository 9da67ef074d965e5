// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>

#include "lib/log.h"

static char errmsg[512];
static hl_logger_fn logger;

void hl_set_logger(hl_logger_fn fn)
{
	logger = fn;
}

void hl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
}

void hl_warn(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!logger)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	logger(HL_LOG_WARN, msg);
}

const char *hl_errmsg(void)
{
	return errmsg;
}

void hl_errclear(void)
{
	errmsg[0] = '\0';
}
