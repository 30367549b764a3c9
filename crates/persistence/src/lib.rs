//! clerk-sync persistence (under construction).
