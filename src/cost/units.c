/* Converting nats to energies. */
#include <math.h>
#include <strings.h>

#include "core/error.h"

static const char *const unit_names[] = {"eV", "J", "zJ", "kT", "bits"};

nh_status nh_unit_parse(const char *name, nh_unit *out, nh_error *err)
{
    for (int u = 0; u <= NH_UNIT_BITS; u++) {
        if (name && strcasecmp(name, unit_names[u]) == 0) {
            *out = (nh_unit)u;
            return NH_OK;
        }
    }
    return nh_fail(err, NH_EINVAL, "unknown unit '%s': expected eV, J, zJ, kT or bits",
                   name ? name : "");
}

const char *nh_unit_name(nh_unit unit)
{
    return unit <= NH_UNIT_BITS ? unit_names[unit] : "?";
}

double nh_energy_from_nats(double nats, double kelvin, nh_unit unit)
{
    double joules = nats * NH_BOLTZMANN * kelvin;

    switch (unit) {
    case NH_UNIT_EV: return joules / NH_ELEMENTARY;
    case NH_UNIT_J: return joules;
    case NH_UNIT_ZJ: return joules * 1e21;
    case NH_UNIT_KT: return nats;
    case NH_UNIT_BITS: return nats / log(2.0);
    }
    return nats;
}

const char *nh_version(void)
{
    return NH_VERSION;
}
