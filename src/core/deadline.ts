// A bound on a call that may never return (a native call whose callback never comes): the
// promise rejects with the error `late` makes once `ms` have passed, whatever the call does
// later. The call itself is not cancelled; the caller drops what it was using.
export function withDeadline<T>(call: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  return Promise.race([call, expired]).finally(() => clearTimeout(timer));
}
