// The dashboard's markup for each state. Pure: no Clerk, no fetch, so tests render it directly.
import { displayName, explainError, type DashboardState } from "@/lib/dashboard";

export function DashboardView({ state, onRetry }: { state: DashboardState; onRetry?: () => void }) {
  if (state.status === "loading") {
    return (
      <section className="card" data-state="loading" aria-busy="true">
        <p role="status">Loading your profile from clerk-sync…</p>
      </section>
    );
  }

  if (state.status === "error") {
    const { title, message } = explainError(state.error);
    return (
      <section className="card error" data-state="error" data-error={state.error.kind} role="alert">
        <h2>{title}</h2>
        <p>{message}</p>
        {onRetry ? (
          <button type="button" onClick={onRetry}>
            Try again
          </button>
        ) : null}
      </section>
    );
  }

  const { me, organizations } = state;
  return (
    <div data-state="ready">
      <section className="card">
        <h2>Profile</h2>
        <div className="profile">
          {me.image_url ? <img src={me.image_url} alt="" width={64} height={64} /> : null}
          <dl>
            <dt>Name</dt>
            <dd>{displayName(me)}</dd>
            <dt>Email</dt>
            <dd>{me.email ?? "—"}</dd>
            <dt>Clerk id</dt>
            <dd>
              <code>{me.clerk_id ?? "—"}</code>
            </dd>
            <dt>Local id</dt>
            <dd>{me.id}</dd>
            <dt>Staff</dt>
            <dd>{me.is_staff ? "yes" : "no"}</dd>
          </dl>
        </div>
      </section>
      <section className="card">
        <h2>Organizations</h2>
        {organizations.length === 0 ? (
          <p>You are not a member of any organization yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Slug</th>
                <th>Role</th>
                <th>Clerk id</th>
              </tr>
            </thead>
            <tbody>
              {organizations.map((organization) => (
                <tr key={organization.clerk_id}>
                  <td>{organization.name}</td>
                  <td>{organization.slug ?? "—"}</td>
                  <td>{organization.role}</td>
                  <td>
                    <code>{organization.clerk_id}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
