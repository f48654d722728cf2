/*
 * libquota: embeddable multi-tenant resource quotas.
 *
 * The umbrella header; include this one.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_QUOTA_H
#define QUOTA_QUOTA_H

#include "common.h"
#include "engine.h"
#include "consumer.h"
#include "registration.h"
#include "grant.h"
#include "bucket.h"
#include "claim.h"
#include "metrics.h"
#include "doc.h"
#include "expr.h"
#include "template.h"
#include "policy.h"
#include "introspect.h"
#include "json.h"
#include "journal.h"

#endif /* QUOTA_QUOTA_H */
