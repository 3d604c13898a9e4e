/* lmsim.h - umbrella header of liblmsim, the labour-market microsimulation engine. */
#ifndef LMSIM_H
#define LMSIM_H

#include "lmsim/calibrate.h"
#include "lmsim/compare.h"
#include "lmsim/error.h"
#include "lmsim/exchange.h"
#include "lmsim/hash.h"
#include "lmsim/json.h"
#include "lmsim/messages.h"
#include "lmsim/moments.h"
#include "lmsim/output.h"
#include "lmsim/population.h"
#include "lmsim/programmes.h"
#include "lmsim/rng.h"
#include "lmsim/run.h"
#include "lmsim/scenario.h"
#include "lmsim/sim.h"
#include "lmsim/sweep.h"
#include "lmsim/targets.h"
#include "lmsim/version.h"

#endif /* LMSIM_H */
