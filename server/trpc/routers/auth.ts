import { ConfirmSignUpInput, Credentials, ForgotPasswordInput, ResetPasswordInput, SessionUser } from '../../../contracts/api'
import { InvalidTokenError } from '../../../lib/auth/access-token'
import { limitAuthAttempts, protectedProcedure, publicProcedure, router } from '../init'

export const authRouter = router({
  signUp: publicProcedure.input(Credentials).mutation(async ({ ctx, input }) => {
    const { confirmed } = await ctx.app.auth.signUp(input.email, input.password)
    if (!confirmed) return { signedIn: false as const, next: 'confirm' as const }
    ctx.session.setTokens(await ctx.app.auth.signIn(input.email, input.password))
    return { signedIn: true as const, next: 'studio' as const }
  }),

  confirmSignUp: publicProcedure.input(ConfirmSignUpInput).mutation(async ({ ctx, input }) => {
    await limitAuthAttempts(ctx, input.email, () => ctx.app.auth.confirmSignUp(input.email, input.code))
    return { confirmed: true as const }
  }),

  forgotPassword: publicProcedure.input(ForgotPasswordInput).mutation(async ({ ctx, input }) => {
    await ctx.app.auth.forgotPassword(input.email)
    return { sent: true as const }
  }),

  resetPassword: publicProcedure.input(ResetPasswordInput).mutation(async ({ ctx, input }) => {
    // Wrong codes count like wrong passwords: a 6-digit code must not be guessable.
    await limitAuthAttempts(ctx, input.email, () => ctx.app.auth.resetPassword(input.email, input.code, input.password))
    ctx.session.setTokens(await ctx.app.auth.signIn(input.email, input.password))
    return { signedIn: true as const }
  }),

  signIn: publicProcedure.input(Credentials).mutation(async ({ ctx, input }) => {
    ctx.session.setTokens(await limitAuthAttempts(ctx, input.email, () => ctx.app.auth.signIn(input.email, input.password)))
    return { signedIn: true as const }
  }),

  /**
   * Ends this session: its access token is refused by every replica until it expires, its refresh
   * token is revoked at Cognito, and the cookies are cleared (whatever the cookies hold).
   */
  signOut: publicProcedure.mutation(async ({ ctx }) => {
    const { session } = ctx
    try {
      // Only a token that verifies is listed (an expired, forged or already signed-out one needs nothing).
      const user = await ctx.app.verifyAccessToken(session.accessToken).catch((error: unknown) => {
        if (error instanceof InvalidTokenError) return null
        throw error
      })
      if (user) await ctx.app.revocations.revokeToken(user)
    } finally {
      if (session.refreshToken) await ctx.app.auth.signOut(session.refreshToken)
      session.clear()
    }
    return { signedIn: false as const }
  }),

  /**
   * Ends every session of the user, on every device: Cognito's GlobalSignOut revokes the refresh
   * tokens, and every replica refuses the access tokens of sessions begun before now.
   */
  signOutEverywhere: protectedProcedure.mutation(async ({ ctx }) => {
    const cognito = await ctx.app.auth.globalSignOut(ctx.accessToken)
    // The emulator has no GlobalSignOut: at least this session's refresh token goes (the others
    // are refused at refresh, see CognitoAuth.refresh).
    if (cognito === 'unsupported' && ctx.session.refreshToken) await ctx.app.auth.signOut(ctx.session.refreshToken)
    await ctx.app.revocations.revokeAllSessions(ctx.user.sub)
    ctx.app.logger.info({ user: ctx.user.sub, cognito, requestId: ctx.requestId }, 'signed out everywhere')
    ctx.session.clear()
    return { signedIn: false as const, everywhere: true as const }
  }),

  me: protectedProcedure.output(SessionUser).query(async ({ ctx }) => ({
    sub: ctx.user.sub,
    username: ctx.user.username,
    email: await ctx.app.auth.email(ctx.accessToken),
  })),
})
