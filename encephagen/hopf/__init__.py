"""The linearised Hopf (Stuart-Landau) model as an analytic FC model: Lyapunov covariance,
closed form, lagged covariance, spectra (:mod:`linear`); G sweeps over many networks, held-out
fits and regional heterogeneity (:mod:`fit`); the study driver behind the workflow (:mod:`study`)."""
from encephagen.hopf.linear import (PARAMETERS, HopfParameterError, covariance, covariance_lyapunov, fc,
                                    fc_sweep, jacobian, lagged_covariance, power_spectrum)

__all__ = ["PARAMETERS", "HopfParameterError", "covariance", "covariance_lyapunov", "fc", "fc_sweep",
           "jacobian", "lagged_covariance", "power_spectrum"]
