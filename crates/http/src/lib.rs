//! clerk-sync http (under construction).
